// Pooling: the seed material's max-pool example, PyTorch's output-size and divisor rules,
// golden values from PyTorch, tie routing (the first extremum gets the gradient), the
// finite-difference check over a table of option combinations, and the errors.
#include <string>
#include <vector>

#include "autograd/golden/golden.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::check_close;
using tg::test::make;

namespace {

TEST_CASE("max_pool2d and min_pool2d reproduce the classic 4x4 example (seeds/000)") {
  // The max-pooling figure of seeds/000 (Wikipedia's Max_pooling.png): 2x2 windows, stride 2.
  const Variable x(make({1, 1, 4, 4}, {1, 1, 2, 4,  //
                                       5, 6, 7, 8,  //
                                       3, 2, 1, 0,  //
                                       1, 2, 3, 4}));
  check_close(max_pool2d(x, 2).value(), make({1, 1, 2, 2}, {6, 8, 3, 4}));
  check_close(min_pool2d(x, 2).value(), make({1, 1, 2, 2}, {1, 2, 1, 0}));
  check_close(avg_pool2d(x, 2).value(), make({1, 1, 2, 2}, {3.25f, 5.25f, 2, 2}));
  // Unbatched [C, H, W] input works too.
  check_close(max_pool2d(Variable(make({1, 4, 4}, {1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4})), 2)
                  .value(),
              make({1, 2, 2}, {6, 8, 3, 4}));
}

TEST_CASE("max_pool2d: padding acts as -inf, min_pool2d: as +inf") {
  const Variable x(make({1, 1, 2, 2}, {-5, -6, -7, -8}));
  // Every window of 2x2 kernel, stride 1, padding 1 overlaps the input; the padding never wins.
  check_close(max_pool2d(x, 2, 1, 1).value(), make({1, 1, 3, 3}, {-5, -5, -6, -5, -5, -6, -7, -7, -8}));
  const Variable p(make({1, 1, 2, 2}, {5, 6, 7, 8}));
  check_close(min_pool2d(p, 2, 1, 1).value(), make({1, 1, 3, 3}, {5, 5, 6, 5, 5, 6, 7, 7, 8}));
}

TEST_CASE("pooling output size with ceil_mode follows PyTorch") {
  const Variable x(filled({1, 1, 5, 5}, 1.0f));
  CHECK(max_pool2d(x, 2).shape() == Shape{1, 1, 2, 2});
  CHECK(max_pool2d(x, 2, 2, 0, true).shape() == Shape{1, 1, 3, 3});
  // 6 + padding 1, kernel 2, stride 2: ceil((6 + 2 - 2) / 2) + 1 = 4, and the 4th window starts
  // at 5, inside the input, so it stays. For 5 + padding 1 the 4th would start in the padding.
  CHECK(max_pool2d(Variable(filled({1, 1, 6, 6}, 1.0f)), 2, 2, 1, true).shape() == Shape{1, 1, 4, 4});
  CHECK(avg_pool2d(x, 2, 2, 1, true).shape() == Shape{1, 1, 3, 3});
  CHECK(avg_pool2d(x, 3, 2, 1, true).shape() == Shape{1, 1, 3, 3});
  CHECK(max_pool2d(x, {.kernel_h = 3, .kernel_w = 2, .stride_h = 1, .stride_w = 3}).shape() ==
        Shape{1, 1, 3, 2});
}

TEST_CASE("avg_pool2d divisors: count_include_pad and the clipped ceil_mode window") {
  const Variable x(filled({1, 1, 3, 3}, 1.0f));
  // kernel 2, stride 2, padding 1, ceil mode: windows start at -1 and 1. The corner window
  // holds 1 input cell and 3 padding cells; the last window [1, 3) holds 2x2 input cells.
  check_close(avg_pool2d(x, 2, 2, 1, false, true).value(), make({1, 1, 2, 2}, {0.25f, 0.5f, 0.5f, 1}));
  check_close(avg_pool2d(x, 2, 2, 1, false, false).value(), make({1, 1, 2, 2}, {1, 1, 1, 1}));
  // 4 wide, kernel 3, stride 2, no padding, ceil mode: the 2nd window [2, 5) is clipped to
  // [2, 4) and divides by 2 per row (PyTorch clips at size + padding, here 4).
  const Variable r(make({1, 1, 1, 4}, {1, 2, 3, 4}));
  const Pool2dOptions o{.kernel_h = 1, .kernel_w = 3, .stride_h = 1, .stride_w = 2, .ceil_mode = true};
  check_close(avg_pool2d(r, o).value(), make({1, 1, 1, 2}, {2, 3.5f}));
}

TEST_CASE("pooling matches PyTorch forward and backward (golden values)") {
  struct GoldenCase {
    const char* prefix;
    std::function<Variable(const Variable&)> fn;
  };
  const std::vector<GoldenCase> cases = {
      {"max_ceil", [](const Variable& x) { return max_pool2d(x, 3, 2, 1, true); }},
      {"max_plain", [](const Variable& x) { return max_pool2d(x, 2); }},
      {"avg_ceil_pad", [](const Variable& x) { return avg_pool2d(x, 3, 2, 1, true, true); }},
      {"avg_ceil_nopad", [](const Variable& x) { return avg_pool2d(x, 3, 2, 1, true, false); }},
      {"avg_ceil_edge", [](const Variable& x) { return avg_pool2d(x, 2, 2, 1, true, true); }},
      {"adaptive", [](const Variable& x) { return adaptive_avg_pool2d(x, {3, 2}); }},
  };
  for (const GoldenCase& c : cases) {
    const std::string p = c.prefix;
    CAPTURE(p);
    Variable x(golden::tensor(p + ".x"), true);
    Variable y = c.fn(x);
    check_close(y.value(), golden::tensor(p + ".y"), 1e-6, 1e-5);
    y.backward(golden::tensor(p + ".gy"));
    check_close(x.grad(), golden::tensor(p + ".gx"), 1e-6, 1e-5);
  }
}

TEST_CASE("max_pool2d and min_pool2d send each window's gradient to its first extremum") {
  // One 2x3 window of equal values: the top-left one (first in row-major order) gets it all.
  Variable x(make({1, 1, 2, 3}, {7, 7, 7, 7, 7, 7}), true);
  max_pool2d(x, {.kernel_h = 2, .kernel_w = 3}).backward(make({1, 1, 1, 1}, {5}));
  check_close(x.grad(), make({1, 1, 2, 3}, {5, 0, 0, 0, 0, 0}));
  // Ties at later positions: the first maximum in row-major order, not the last.
  Variable y(make({1, 1, 2, 2}, {1, 9, 9, 9}), true);
  max_pool2d(y, 2).backward(make({1, 1, 1, 1}, {1}));
  check_close(y.grad(), make({1, 1, 2, 2}, {0, 1, 0, 0}));
  Variable z(make({1, 1, 2, 2}, {4, 3, 3, 3}), true);
  min_pool2d(z, 2).backward(make({1, 1, 1, 1}, {1}));
  check_close(z.grad(), make({1, 1, 2, 2}, {0, 1, 0, 0}));
  // Overlapping windows (kernel 2, stride 1) that pick the same cell add up.
  Variable o(make({1, 1, 3, 3}, {0, 0, 0, 0, 9, 0, 0, 0, 0}), true);
  max_pool2d(o, 2, 1).backward(make({1, 1, 2, 2}, {1, 2, 3, 4}));
  check_close(o.grad(), make({1, 1, 3, 3}, {0, 0, 0, 0, 10, 0, 0, 0, 0}));
}

// Values with no ties and no near-ties (a shuffled ramp with gaps of 0.1), so that a
// finite-difference step of 1e-3 never changes which element wins a window.
Tensor untied(const Shape& shape, std::uint64_t seed) {
  Tensor t = empty_tensor(shape);
  Generator gen(seed);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = 0.1f * static_cast<float>(i) - 2.0f;
  for (std::size_t i = t.size(); i > 1; --i) std::swap(t.data()[i - 1], t.data()[gen.below(i)]);
  return t;
}

struct GradCase {
  const char* name;
  Shape x;
  std::function<Variable(const Variable&)> fn;
};

TEST_CASE("pooling gradients pass the finite-difference check for every option combination") {
  const std::vector<GradCase> cases = {
      {"max 2x2", {2, 2, 4, 6}, [](auto& x) { return max_pool2d(x, 2); }},
      {"max 3 s2 p1 ceil", {1, 2, 7, 6}, [](auto& x) { return max_pool2d(x, 3, 2, 1, true); }},
      {"max overlapping", {1, 2, 5, 5}, [](auto& x) { return max_pool2d(x, 3, 1, 1); }},
      {"max non-square", {2, 1, 6, 7},
       [](auto& x) { return max_pool2d(x, {.kernel_h = 2, .kernel_w = 3, .stride_h = 1, .stride_w = 2, .padding_w = 1}); }},
      {"min 2x2 ceil", {2, 2, 5, 5}, [](auto& x) { return min_pool2d(x, 2, 2, 0, true); }},
      {"min 3 s2 p1", {1, 2, 6, 6}, [](auto& x) { return min_pool2d(x, 3, 2, 1); }},
      {"avg 2x2", {2, 2, 4, 4}, [](auto& x) { return avg_pool2d(x, 2); }},
      {"avg pad incl", {1, 2, 7, 6}, [](auto& x) { return avg_pool2d(x, 3, 2, 1, true, true); }},
      {"avg pad excl", {1, 2, 7, 6}, [](auto& x) { return avg_pool2d(x, 3, 2, 1, true, false); }},
      {"avg floor excl", {1, 2, 6, 5}, [](auto& x) { return avg_pool2d(x, 2, 1, 1, false, false); }},
      {"adaptive 3x2", {2, 2, 7, 5}, [](auto& x) { return adaptive_avg_pool2d(x, {3, 2}); }},
      {"adaptive up", {1, 2, 3, 2}, [](auto& x) { return adaptive_avg_pool2d(x, {4, 5}); }},
      {"global", {2, 3, 4, 4}, [](auto& x) { return adaptive_avg_pool2d(x, {1, 1}); }},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    CAPTURE(cases[k].name);
    const auto op = cases[k].fn;
    const GradcheckResult r = gradcheck([op](const std::vector<Variable>& v) { return op(v[0]); },
                                        {Variable(untied(cases[k].x, k), true)}, {.eps = 1e-2, .atol = 1e-3});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("pooling: bad input gives tg::Error naming the problem") {
  const Variable x(filled({1, 2, 6, 6}, 1.0f));
  CHECK_THROWS_WITH_AS(max_pool2d(Variable(filled({6, 6}, 1.0f)), 2),
                       "max_pool2d: expected input [N, C, H, W] or [C, H, W], got [6, 6]", Error);
  CHECK_THROWS_WITH_AS(max_pool2d(x, 0), doctest::Contains("max_pool2d: expected kernel size >= 1"), Error);
  CHECK_THROWS_WITH_AS(avg_pool2d(x, 2, -1), doctest::Contains("avg_pool2d: expected stride >= 1"), Error);
  CHECK_THROWS_WITH_AS(min_pool2d(x, 3, 1, 2),
                       doctest::Contains("min_pool2d: expected padding at most half the kernel size, "
                                         "got padding 2x2 with kernel 3x3"),
                       Error);
  CHECK_THROWS_WITH_AS(avg_pool2d(x, 2, 1, -1), doctest::Contains("avg_pool2d: expected padding >= 0"), Error);
  CHECK_THROWS_WITH_AS(max_pool2d(x, 7),
                       doctest::Contains("max_pool2d: expected the kernel 7x7 to fit in the padded input, "
                                         "got input [1, 2, 6, 6]"),
                       Error);
  CHECK_THROWS_WITH_AS(adaptive_avg_pool2d(x, {0, 2}),
                       doctest::Contains("adaptive_avg_pool2d: expected an output size of at least 1x1"),
                       Error);
  CHECK_THROWS_WITH_AS(adaptive_avg_pool2d(Variable(filled({2, 1, 0, 3}, 1.0f)), {1, 1}),
                       doctest::Contains("adaptive_avg_pool2d: expected an input of at least 1x1"), Error);
}

}  // namespace
