// view/reshape, flatten, transpose, permute, cat, narrow, slice.
#include "test_util.hpp"

using namespace tg;
using tg::test::make;

namespace {
Tensor iota(const Shape& shape) {
  Tensor t = empty_tensor(shape);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = float(i);
  return t;
}
}  // namespace

TEST_CASE("view and reshape keep the order of elements, with one -1 inferred") {
  Variable x(iota({2, 3, 4}), true);
  Variable v = x.view({-1, 4});
  CHECK(v.shape() == Shape{6, 4});
  CHECK(v.value()(5, 3) == 23);
  CHECK(x.reshape({4, -1}).shape() == Shape{4, 6});
  CHECK(x.flatten().shape() == Shape{2, 12});
  CHECK(x.flatten(0).shape() == Shape{24});
  CHECK(x.flatten(0, 1).shape() == Shape{6, 4});
  sum(v * v).backward();
  tg::test::check_close(x.grad(), iota({2, 3, 4}) * 2.0f);
}

TEST_CASE("the seed network's x.view({-1, 10 * 5 * 5})") {
  Variable x(iota({4, 10, 5, 5}));
  CHECK(x.view({-1, 10 * 5 * 5}).shape() == Shape{4, 250});
}

TEST_CASE("incompatible views are clear errors") {
  Variable x(iota({2, 3}));
  CHECK_THROWS_WITH_AS(x.view({4, -1}), doctest::Contains("view: expected a shape compatible with [2, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(x.view({5}), doctest::Contains("view: expected a shape with 6 elements like [2, 3], got [5]"),
                       Error);
  CHECK_THROWS_WITH_AS(x.view({-1, -1}), doctest::Contains("at most one -1"), Error);
}

TEST_CASE("transpose and permute") {
  Variable x(iota({2, 3, 4}), true);
  Variable t = x.transpose(0, 2);
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK(t.value()(3, 1, 0) == x.value()(0, 1, 3));
  Variable p = x.permute({1, 2, 0});
  CHECK(p.shape() == Shape{3, 4, 2});
  CHECK(p.value()(2, 1, 1) == x.value()(1, 2, 1));
  CHECK_THROWS_WITH_AS(x.permute({0, 0, 1}), doctest::Contains("permute: expected each dim once"), Error);
  auto r = gradcheck([](auto& v) { return v[0].permute({2, 0, 1}) * v[0].permute({2, 0, 1}); }, {x});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("cat along each dim, and its gradient split back") {
  Variable a(iota({2, 3}), true), b(iota({2, 1}) + 100.0f, true);
  Variable c = cat({a, b}, 1);
  CHECK(c.shape() == Shape{2, 4});
  tg::test::check_close(c.value(), make({2, 4}, {0, 1, 2, 100, 3, 4, 5, 101}));
  Variable d = cat({a, a}, 0);
  CHECK(d.shape() == Shape{4, 3});
  auto r = gradcheck([](auto& v) { return cat({v[0], v[1] * v[1]}, -1); }, {a, b});
  CHECK_MESSAGE(r.ok, r.message);
  CHECK_THROWS_WITH_AS(cat({a, Variable(iota({3, 1}))}, 1), doctest::Contains("cat: expected equal sizes"), Error);
  CHECK_THROWS_WITH_AS(cat({}, 0), doctest::Contains("cat: expected at least one tensor"), Error);
}

TEST_CASE("narrow and slice") {
  Variable x(iota({3, 5}), true);
  tg::test::check_close(narrow(x, 1, 1, 2).value(), make({3, 2}, {1, 2, 6, 7, 11, 12}));
  tg::test::check_close(slice(x, 1, 0, 5, 2).value(), make({3, 3}, {0, 2, 4, 5, 7, 9, 10, 12, 14}));
  tg::test::check_close(slice(x, 0, -1, 100).value(), make({1, 5}, {10, 11, 12, 13, 14}));
  CHECK(slice(x, 1, 3, 1).shape() == Shape{3, 0});
  auto r = gradcheck([](auto& v) { return slice(v[0], 1, 1, 5, 2) * 3.0f; }, {x});
  CHECK_MESSAGE(r.ok, r.message);
  CHECK_THROWS_WITH_AS(narrow(x, 1, 4, 2), doctest::Contains("narrow: expected start + length <= 5"), Error);
  CHECK_THROWS_WITH_AS(slice(x, 0, 0, 2, 0), doctest::Contains("slice: expected a positive step"), Error);
}
