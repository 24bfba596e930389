// Seeded generators, factories and the thread setting.
#include <omp.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "test_util.hpp"

using namespace tg;

TEST_CASE("the same seed gives the same numbers; another seed gives others") {
  manual_seed(42);
  Tensor a = randn({100}).value();
  manual_seed(42);
  Tensor b = randn({100}).value();
  manual_seed(43);
  Tensor c = randn({100}).value();
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("derived streams are reproducible and distinct") {
  Generator g1 = Generator::derive(7, 1, 2), g2 = Generator::derive(7, 1, 2), g3 = Generator::derive(7, 2, 1);
  const auto x = g1.next_u64();
  CHECK(x == g2.next_u64());
  CHECK(x != g3.next_u64());
}

TEST_CASE("randn and rand have the right statistics") {
  manual_seed(1);
  Tensor n = randn({20000}).value();
  double mean = 0, sq = 0;
  for (float v : n) {
    mean += v;
    sq += double(v) * v;
  }
  mean /= n.size();
  const double var = sq / n.size() - mean * mean;
  CHECK(std::fabs(mean) < 0.03);
  CHECK(std::fabs(var - 1.0) < 0.05);
  Tensor u = rand({20000}).value();
  CHECK(*std::min_element(u.begin(), u.end()) >= 0.0f);
  CHECK(*std::max_element(u.begin(), u.end()) < 1.0f);
  Generator g(3);
  for (int i = 0; i < 1000; ++i) CHECK(g.below(7) < 7);
}

TEST_CASE("factories") {
  CHECK(zeros({2, 3}).value() == filled({2, 3}, 0.0f));
  CHECK(ones({2}).value() == filled({2}, 1.0f));
  CHECK(full({2}, 3.5f, true).requires_grad());
  Tensor r = arange(4).value();
  CHECK(r == tg::test::make({4}, {0, 1, 2, 3}));
  CHECK_THROWS_AS(arange(-1), Error);
}

TEST_CASE("set_num_threads bounds the threads and rejects nonsense") {
  const int before = get_num_threads();
  set_num_threads(1);
  CHECK(get_num_threads() == 1);
  std::atomic<int> chunks{0};
  parallel_for(1 << 20, 1, [&](std::int64_t, std::int64_t) { ++chunks; });
  CHECK(chunks == 1);
  set_num_threads(2);
  chunks = 0;
  parallel_for(1 << 20, 1, [&](std::int64_t, std::int64_t) { ++chunks; });
  CHECK(chunks == 2);
  CHECK_THROWS_WITH_AS(set_num_threads(0), doctest::Contains("set_num_threads: expected at least 1"), Error);
  set_num_threads(before);
}

TEST_CASE("an exception inside parallel_for reaches the caller") {
  CHECK_THROWS_WITH_AS(parallel_for(1 << 20, 1,
                                    [](std::int64_t b, std::int64_t) {
                                      if (b > 0) throw Error("boom");
                                    }),
                       "boom", Error);
}

TEST_CASE("a generator's state round-trips through text, spare normal included") {
  Generator a(9);
  a.normal();  // leaves a spare normal behind
  const std::string saved = a.state();
  const float n1 = a.normal(), n2 = a.normal(), u = a.uniform();
  Generator b(1);
  b.set_state(saved);
  CHECK(b.normal() == n1);
  CHECK(b.normal() == n2);
  CHECK(b.uniform() == u);
  CHECK_THROWS_WITH_AS(b.set_state("not a state"), doctest::Contains("Generator::set_state: expected"), Error);
  CHECK_THROWS_AS(b.set_state(saved + " extra"), Error);
  CHECK_THROWS_AS(b.set_state("0 0 0 0 0 0"), Error);  // the all-zero state never moves
}

namespace {

// A small training run drawing from the default generator at every step (init, data, dropout):
// its final weights are a fingerprint of the stream it drew.
Tensor train_from_seed(std::uint64_t seed) {
  manual_seed(seed);
  Variable w = randn({32, 8}, true);
  for (int step = 0; step < 100; ++step) {
    Variable x = randn({64, 32});
    Variable y = dropout(matmul(x, w), 0.3f);
    Variable loss = mean(y * y);
    w.zero_grad();
    loss.backward();
    NoGradGuard no_grad;
    w.value() -= 0.05f * w.grad();
  }
  return w.value();
}

}  // namespace

TEST_CASE("two threads that each manual_seed and train reproduce their one-at-a-time results") {
  const Tensor alone_a = train_from_seed(11), alone_b = train_from_seed(12);
  REQUIRE(alone_a != alone_b);
  int reproduced = 0;
  for (int run = 0; run < 5; ++run) {
    Tensor a, b;
    std::latch start(2);  // both begin together, so that their draws overlap
    std::thread ta([&] { start.arrive_and_wait(), a = train_from_seed(11); });
    std::thread tb([&] { start.arrive_and_wait(), b = train_from_seed(12); });
    ta.join();
    tb.join();
    reproduced += (a == alone_a && b == alone_b) ? 1 : 0;
  }
  CHECK(reproduced == 5);
}

TEST_CASE("a thread's default generator starts from the last manual_seed of any thread") {
  manual_seed(5);
  const Tensor here = randn({4}).value();
  Tensor there;
  manual_seed(5);
  std::thread([&] { there = randn({4}).value(); }).join();
  CHECK(there == here);
  // and its draws do not move the calling thread's stream
  manual_seed(5);
  std::thread([] { randn({100}); }).join();
  CHECK(randn({4}).value() == here);
}

TEST_CASE("set_num_threads applies to threads started later, and a thread limit to one thread") {
  const int before = get_num_threads();
  // The team size inside the library's own parallel region, seen from a thread.
  auto probe = [] {
    std::atomic<int> team{0};
    parallel_for(1 << 20, 1, [&](std::int64_t, std::int64_t) { team = omp_get_num_threads(); });
    return team.load();
  };
  set_num_threads(1);
  int in_new_thread = -1, gets = -1, openmp_after_gemm = -1;
  std::thread([&] {
    in_new_thread = probe();
    gets = get_num_threads();
    matmul(randn({8, 8}), randn({8, 8}));  // OpenBLAS reads the thread's OpenMP setting
    openmp_after_gemm = omp_get_max_threads();
  }).join();
  CHECK(in_new_thread == 1);
  CHECK(gets == 1);
  CHECK(openmp_after_gemm == 1);
  set_num_threads(2);
  std::thread([&] { in_new_thread = probe(); }).join();
  CHECK(in_new_thread == 2);
  int limited = -1;
  std::thread([&] {
    set_thread_limit(1);
    limited = probe();
  }).join();
  CHECK(limited == 1);
  CHECK(probe() == 2);  // the limit stayed in its thread
  CHECK_THROWS_WITH_AS(set_thread_limit(-1), doctest::Contains("set_thread_limit: expected"), Error);
  set_num_threads(before);
}
