// Seeded generators, factories and the thread setting.
#include <atomic>

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
