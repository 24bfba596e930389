// Reductions: sum, mean, max over everything or along a dim, and argmax.
#include "test_util.hpp"

using namespace tg;
using tg::test::make;

namespace {
Tensor m23() { return make({2, 3}, {1, 5, 3, 4, 2, 6}); }
}

TEST_CASE("sum, mean and max of the whole tensor") {
  Variable x(m23(), true);
  CHECK(sum(x).item() == 21);
  CHECK(sum(x).dim() == 0);
  CHECK(mean(x).item() == doctest::Approx(3.5));
  CHECK(max(x).item() == 6);
  sum(x).backward();
  tg::test::check_close(x.grad(), filled({2, 3}, 1.0f));
  x.zero_grad();
  mean(x).backward();
  tg::test::check_close(x.grad(), filled({2, 3}, 1.0f / 6));
  x.zero_grad();
  max(x).backward();
  tg::test::check_close(x.grad(), make({2, 3}, {0, 0, 0, 0, 0, 1}));
}

TEST_CASE("reductions along a dim, with and without keepdim") {
  Variable x(m23(), true);
  tg::test::check_close(sum(x, 0).value(), make({3}, {5, 7, 9}));
  tg::test::check_close(sum(x, 1, true).value(), make({2, 1}, {9, 12}));
  tg::test::check_close(sum(x, -1).value(), make({2}, {9, 12}));
  tg::test::check_close(mean(x, 0).value(), make({3}, {2.5f, 3.5f, 4.5f}));
  tg::test::check_close(max(x, 1).value(), make({2}, {5, 6}));
  tg::test::check_close(max(x, 0, true).value(), make({1, 3}, {4, 5, 6}));
  sum(max(x, 1) * 2.0f).backward();
  tg::test::check_close(x.grad(), make({2, 3}, {0, 2, 0, 0, 0, 2}));
}

TEST_CASE("max sends the gradient to the first of tied maxima") {
  Variable x(make({2, 3}, {7, 7, 1, 2, 9, 9}), true);
  sum(max(x, 1)).backward();
  tg::test::check_close(x.grad(), make({2, 3}, {1, 0, 0, 0, 1, 0}));
  Variable y(make({3}, {4, 4, 4}), true);
  max(y).backward();
  tg::test::check_close(y.grad(), make({3}, {1, 0, 0}));
}

TEST_CASE("argmax picks the first largest index") {
  Labels a = argmax(make({2, 3}, {1, 9, 9, 8, 2, 3}), 1);
  CHECK(a.shape() == Labels::shape_type{2});
  CHECK(a(0) == 1);
  CHECK(a(1) == 0);
}

TEST_CASE("reductions: gradcheck along every dim of a 3-D tensor") {
  std::uint64_t seed = 1;
  for (std::int64_t dim = -3; dim < 3; ++dim)
    for (bool keepdim : {false, true}) {
      CAPTURE(dim);
      CAPTURE(keepdim);
      Variable x(tg::test::uniform({2, 3, 4}, -1, 1, seed++), true);
      auto rs = gradcheck([&](auto& v) { return sum(v[0], dim, keepdim); }, {x});
      CHECK_MESSAGE(rs.ok, rs.message);
      auto rm = gradcheck([&](auto& v) { return mean(v[0], dim, keepdim); }, {x});
      CHECK_MESSAGE(rm.ok, rm.message);
      auto rx = gradcheck([&](auto& v) { return max(v[0], dim, keepdim); }, {x});
      CHECK_MESSAGE(rx.ok, rx.message);
    }
  Variable x(tg::test::uniform({3, 4}, -1, 1, 99), true);
  for (auto fn : {+[](const std::vector<Variable>& v) { return sum(v[0]); },
                  +[](const std::vector<Variable>& v) { return mean(v[0]); },
                  +[](const std::vector<Variable>& v) { return max(v[0]); }}) {
    auto r = gradcheck(fn, {x});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("bad dims are clear errors") {
  Variable x(m23());
  CHECK_THROWS_WITH_AS(sum(x, 2), doctest::Contains("sum: expected dim in [-2, 1], got 2"), Error);
  CHECK_THROWS_WITH_AS(max(x, -3), doctest::Contains("max: expected dim in [-2, 1], got -3"), Error);
  CHECK_THROWS_WITH_AS(mean(Variable(empty_tensor({0}))), doctest::Contains("mean: expected a non-empty tensor"),
                       Error);
}
