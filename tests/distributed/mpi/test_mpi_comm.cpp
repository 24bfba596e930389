// Collectives across real processes (run under mpirun with 2 and 4 ranks): sums, averages and
// maxima of rank-dependent values, broadcast from a non-zero root, all_gather in rank order,
// a size, root or reduce-op mismatch reported on every rank (after which the world still
// works), and the asynchronous forms returning a Work.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>

#include <tapegrad/distributed/comm.hpp>
#include "test_util.hpp"

namespace dist = tg::distributed;

TEST_CASE("all_reduce: sum, average and maximum of every rank's tensor") {
  const int r = dist::rank(), n = dist::world_size();
  REQUIRE(n >= 2);
  auto mine = [&] { return tg::test::make({2, 2}, {float(r), float(r + 1), -float(r), 2.0f}); };
  tg::Tensor sum = mine(), avg = mine(), max = mine();
  dist::all_reduce(sum, dist::ReduceOp::Sum);
  dist::all_reduce(avg, dist::ReduceOp::Avg);
  dist::all_reduce(max, dist::ReduceOp::Max);
  const float s = float(n * (n - 1) / 2);
  tg::test::check_close(sum, tg::test::make({2, 2}, {s, s + float(n), -s, 2.0f * float(n)}), 0, 0);
  tg::test::check_close(avg, tg::test::make({2, 2}, {s / float(n), s / float(n) + 1, -s / float(n), 2}), 1e-6, 0);
  tg::test::check_close(max, tg::test::make({2, 2}, {float(n - 1), float(n), 0.0f, 2.0f}), 0, 0);
}

TEST_CASE("broadcast from rank 1 and all_gather in rank order") {
  const int r = dist::rank(), n = dist::world_size();
  tg::Tensor t = tg::filled({3}, float(10 * r));
  dist::broadcast(t, 1);
  tg::test::check_close(t, tg::filled({3}, 10.0f), 0, 0);
  const tg::Tensor g = dist::all_gather(tg::filled({2}, float(r) + 0.5f));
  REQUIRE(g.shape() == tg::Shape{std::size_t(n), 2});
  for (int q = 0; q < n; ++q) CHECK(g(q, 1) == float(q) + 0.5f);
  dist::barrier();
}

TEST_CASE("a size mismatch across ranks is an error on every rank, and the world goes on") {
  const int r = dist::rank();
  tg::Tensor t = tg::filled({r == 0 ? 3u : 4u}, 1.0f);
  CHECK_THROWS_WITH_AS(dist::all_reduce(t), doctest::Contains("expected the same number of elements on every rank"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(dist::all_gather(tg::filled({r == 0 ? 2u : 1u, 2}, 1.0f)),
                       doctest::Contains("all_gather: expected the same shape on every rank"), tg::Error);
  tg::Tensor ok = tg::filled({2}, 1.0f);
  dist::all_reduce(ok);
  CHECK(ok(0) == float(dist::world_size()));
}

TEST_CASE("different roots or reduce ops on some rank: an error on every rank naming both") {
  const int r = dist::rank();
  tg::Tensor t = tg::filled({3}, float(r));
  CHECK_THROWS_WITH_AS(dist::broadcast(t, r == 1 ? 1 : 0),
                       doctest::Contains("broadcast: expected the same root on every rank, got "
                                         "root 0 on rank"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(dist::all_reduce(t, r == 1 ? dist::ReduceOp::Max : dist::ReduceOp::Sum),
                       doctest::Contains("all_reduce: expected the same reduce op on every rank, "
                                         "got Sum on rank"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(dist::broadcast(t, r == 1 ? 1 : 0), doctest::Contains("root 1 on rank 1"),
                       tg::Error);
  // Nothing was sent: t is as it was, and the world goes on.
  CHECK(t(0) == float(r));
  dist::all_reduce(t);
  CHECK(t(0) == float(dist::world_size() * (dist::world_size() - 1) / 2));
}

TEST_CASE("the all_gather mismatch names the shapes, not hashes of them") {
  const int r = dist::rank();
  CHECK_THROWS_WITH_AS(dist::all_gather(tg::filled({r == 0 ? 2u : 1u, 3}, 1.0f)),
                       doctest::Contains("got [2, 3] on rank 0, [1, 3] on rank"), tg::Error);
}

TEST_CASE("asynchronous collectives: a Work to wait on, several in flight at once") {
  const int r = dist::rank(), n = dist::world_size();
  tg::Tensor a = tg::filled({1000}, float(r)), b = tg::filled({4}, float(r + 1));
  tg::Tensor c = tg::filled({2}, float(10 * r));
  dist::Work wa = dist::all_reduce(a, dist::ReduceOp::Sum, {.async_op = true});
  dist::Work wb = dist::all_reduce(b, dist::ReduceOp::Avg, {.async_op = true});
  dist::Work wc = dist::broadcast(c, n - 1, {.async_op = true});
  dist::Work wbar = dist::barrier({.async_op = true});
  const tg::Tensor mine = tg::filled({2}, float(r) + 0.25f);
  tg::Tensor gathered = tg::empty_tensor({std::size_t(n), 2});
  dist::Work wg = dist::all_gather(gathered, mine, {.async_op = true});
  // Waited in another order than started: each completes as MPI progresses.
  CHECK(wc.wait());
  CHECK(wbar.wait());
  CHECK(wb.wait());
  CHECK(wa.wait());
  CHECK(wg.wait());
  for (int q = 0; q < n; ++q) CHECK(gathered(q, 1) == float(q) + 0.25f);
  CHECK(wa.is_completed());
  CHECK(a(999) == float(n * (n - 1) / 2));
  CHECK(b(0) == doctest::Approx(float(n + 1) / 2));
  CHECK(c(1) == float(10 * (n - 1)));
  // The blocking form of the options: complete on return.
  tg::Tensor d = tg::filled({2}, 1.0f);
  dist::Work done = dist::all_reduce(d, dist::ReduceOp::Max, {});
  CHECK(done.is_completed());
  CHECK(d(0) == 1.0f);
  // is_completed() polls without blocking; a copy shares the one collective.
  tg::Tensor e = tg::filled({8}, 1.0f);
  dist::Work we = dist::all_reduce(e, dist::ReduceOp::Sum, {.async_op = true});
  dist::Work copy = we;
  while (!copy.is_completed()) {
  }
  CHECK(we.is_completed());
  CHECK(e(7) == float(n));
  // A disagreement is an error from the Work; nothing was sent.
  tg::Tensor f = tg::filled({r == 0 ? 3u : 5u}, 1.0f);
  CHECK_THROWS_WITH_AS(dist::all_reduce(f, dist::ReduceOp::Sum, {.async_op = true}).wait(),
                       doctest::Contains("expected the same number of elements on every rank"),
                       tg::Error);
}

TEST_CASE("the timeout in force is the one the test suite set (TAPEGRAD_DIST_TIMEOUT)") {
  const char* env = std::getenv("TAPEGRAD_DIST_TIMEOUT");
  if (env) CHECK(dist::timeout().count() == std::int64_t(std::atof(env) * 1000));
  else CHECK(dist::timeout() == std::chrono::minutes(5));
}
