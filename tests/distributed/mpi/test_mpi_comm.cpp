// Collectives across real processes (run under mpirun with 2 and 4 ranks): sums, averages and
// maxima of rank-dependent values, broadcast from a non-zero root, all_gather in rank order,
// and a size mismatch reported on every rank, after which the world still works.
#include <doctest/doctest.h>

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
