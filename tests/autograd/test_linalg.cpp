// matmul (2-D, batched, broadcast, vectors) and linear, through cblas_sgemm.
#include "test_util.hpp"

using namespace tg;
using tg::test::make;

TEST_CASE("matmul of 2-D matrices against a hand-worked product") {
  Variable a(make({2, 3}, {1, 2, 3, 4, 5, 6}), true);
  Variable b(make({3, 2}, {7, 8, 9, 10, 11, 12}), true);
  Variable c = matmul(a, b);
  tg::test::check_close(c.value(), make({2, 2}, {58, 64, 139, 154}));
  sum(c).backward();
  // dA = 1 @ B^T: row sums of B; dB = A^T @ 1: column sums of A.
  tg::test::check_close(a.grad(), make({2, 3}, {15, 19, 23, 15, 19, 23}));
  tg::test::check_close(b.grad(), make({3, 2}, {5, 5, 7, 7, 9, 9}));
}

TEST_CASE("matmul: gradcheck over batched, broadcast and vector shapes") {
  // Plain vectors here: GCC 12 warns falsely (-Wmaybe-uninitialized) on pairs of svectors.
  const std::vector<std::pair<std::vector<std::size_t>, std::vector<std::size_t>>> cases = {
      {{3, 4}, {4, 2}},    {{2, 3, 4}, {2, 4, 5}}, {{2, 3, 4}, {4, 5}}, {{3, 4}, {2, 4, 5}},
      {{2, 1, 3, 4}, {3, 4, 2}}, {{4}, {4, 3}}, {{3, 4}, {4}}, {{4}, {4}}, {{4}, {2, 4, 3}},
  };
  std::uint64_t seed = 5;
  for (const auto& [a_shape, b_shape] : cases) {
    const Shape sa(a_shape.begin(), a_shape.end()), sb(b_shape.begin(), b_shape.end());
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    Variable a(tg::test::uniform(sa, -1, 1, seed++), true), b(tg::test::uniform(sb, -1, 1, seed++), true);
    auto r = gradcheck([](auto& v) { return matmul(v[0], v[1]); }, {a, b});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("batched matmul agrees with per-batch products") {
  Tensor a = tg::test::uniform({3, 2, 4}, -1, 1, 1), b = tg::test::uniform({3, 4, 5}, -1, 1, 2);
  Tensor c = matmul(Variable(a), Variable(b)).value();
  for (std::size_t t = 0; t < 3; ++t)
    for (std::size_t i = 0; i < 2; ++i)
      for (std::size_t j = 0; j < 5; ++j) {
        float s = 0;
        for (std::size_t k = 0; k < 4; ++k) s += a(t, i, k) * b(t, k, j);
        CHECK(c(t, i, j) == doctest::Approx(s).epsilon(1e-5));
      }
}

TEST_CASE("linear is x @ W^T + b") {
  Variable x(make({2, 3}, {1, 2, 3, 4, 5, 6}), true);
  Variable w(make({2, 3}, {1, 0, -1, 0.5f, 0.5f, 0.5f}), true);
  Variable b(make({2}, {10, 20}), true);
  tg::test::check_close(linear(x, w, b).value(), make({2, 2}, {8, 23, 8, 27.5f}));
  tg::test::check_close(linear(x, w).value(), make({2, 2}, {-2, 3, -2, 7.5f}));
  auto r = gradcheck([](auto& v) { return linear(v[0], v[1], v[2]); }, {x, w, b});
  CHECK_MESSAGE(r.ok, r.message);
  Variable x3(tg::test::uniform({2, 2, 3}, -1, 1, 3), true);
  auto r3 = gradcheck([](auto& v) { return linear(v[0], v[1]); }, {x3, w});
  CHECK_MESSAGE(r3.ok, r3.message);
}

TEST_CASE("mismatched shapes are clear errors") {
  Variable a(filled({2, 3}, 1.0f)), b(filled({4, 5}, 1.0f));
  CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("matmul: expected inner dimensions to match, got [2, 3] @ [4, 5]"),
                       Error);
  CHECK_THROWS_WITH_AS(linear(a, b), doctest::Contains("linear: expected input [..., 5] (weight [4, 5]), got [2, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(linear(a, Variable(filled({4, 3}, 1.0f)), Variable(filled({3}, 1.0f))),
                       doctest::Contains("linear: expected bias [4], got [3]"), Error);
}
