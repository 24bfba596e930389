// The process group in a world of one (no launcher): rank 0 of 1, collectives leave tensors as
// they are (all_gather stacks the one), the asynchronous forms complete at once, and bad
// arguments are errors.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>

#include <tapegrad/distributed/backend.hpp>
#include <tapegrad/distributed/comm.hpp>
#include "test_util.hpp"

namespace dist = tg::distributed;

TEST_CASE("without a launcher: a world of one where every collective works") {
  dist::init();
  dist::init();  // idempotent
  CHECK(dist::is_initialized());
  CHECK(dist::rank() == 0);
  CHECK(dist::world_size() == 1);
  dist::barrier();
  const tg::Tensor original = tg::test::make({2, 2}, {1, -2, 3, 4.5f});
  for (auto op : {dist::ReduceOp::Sum, dist::ReduceOp::Avg, dist::ReduceOp::Max}) {
    tg::Tensor t = original;
    dist::all_reduce(t, op);
    tg::test::check_close(t, original, 0, 0);
  }
  tg::Tensor b = original;
  dist::broadcast(b, 0);
  tg::test::check_close(b, original, 0, 0);
  const tg::Tensor gathered = dist::all_gather(original);
  CHECK(gathered.shape() == tg::Shape{1, 2, 2});
  CHECK(gathered(0, 1, 1) == 4.5f);
}

TEST_CASE("a broadcast root outside the world is an error") {
  dist::init();
  tg::Tensor t = tg::filled({3}, 1.0f);
  CHECK_THROWS_WITH_AS(dist::broadcast(t, 1), doctest::Contains("broadcast: expected a root in [0, 1), got 1"),
                       tg::Error);
}

TEST_CASE("the launcher's world size is read from mpirun's, Hydra's or srun's environment") {
  namespace detail = tg::distributed::detail;
  CHECK(detail::launched_world_size() == 0);  // CTest runs this suite without a launcher
  setenv("SLURM_STEP_NUM_TASKS", "3", 1);
  CHECK(detail::launched_world_size() == 3);
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);  // Open MPI's mpirun first
  CHECK(detail::launched_world_size() == 2);
  unsetenv("OMPI_COMM_WORLD_SIZE");
  unsetenv("SLURM_STEP_NUM_TASKS");
  setenv("PMIX_RANK", "0", 1);  // launched, size unknown
  CHECK(detail::launched_world_size() == 1);
  unsetenv("PMIX_RANK");
  CHECK(detail::launched_world_size() == 0);
}

TEST_CASE("init's timeout and the asynchronous forms in a world of one") {
  dist::init({.timeout = std::chrono::seconds(30)});
  CHECK(dist::timeout() == std::chrono::seconds(30));
  CHECK_THROWS_WITH_AS(dist::init({.timeout = std::chrono::milliseconds(-1)}),
                       doctest::Contains("init: expected a timeout >= 0"), tg::Error);
  const tg::Tensor original = tg::test::make({3}, {1, -2, 3});
  tg::Tensor t = original;
  dist::Work work = dist::all_reduce(t, dist::ReduceOp::Avg, {.async_op = true});
  CHECK(work.is_completed());
  CHECK(work.wait());
  tg::test::check_close(t, original, 0, 0);
  CHECK(dist::broadcast(t, 0, {.async_op = true}).wait());
  CHECK(dist::barrier({.async_op = true}).is_completed());
  CHECK_THROWS_WITH_AS(dist::broadcast(t, 1, {.async_op = true}),
                       doctest::Contains("broadcast: expected a root in [0, 1), got 1"), tg::Error);
  tg::Tensor out = tg::empty_tensor({1, 3});
  CHECK(dist::all_gather(out, original, {.async_op = true}).wait());
  CHECK(out(0, 2) == 3.0f);
  tg::Tensor wrong = tg::empty_tensor({2, 3});
  CHECK_THROWS_WITH_AS(dist::all_gather(wrong, original, {}),
                       doctest::Contains("all_gather: expected an output of shape [1, 3]"), tg::Error);
  dist::Work none;  // default: nothing to wait for
  CHECK(none.is_completed());
}
