// conv2d: the seed material's worked examples, PyTorch-derived golden values (golden/), the
// finite-difference gradient check over a table of option combinations, and the errors.
#include <string>
#include <vector>

#include "autograd/golden/golden.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::check_close;
using tg::test::make;

namespace {

Tensor image(std::size_t h, std::size_t w, std::initializer_list<float> values) {
  return make({1, 1, h, w}, values);
}

TEST_CASE("conv2d reproduces the 3x3 worked example of the seed material (result 4)") {
  // seeds/002: kernel [[1,0,1],[0,1,0],[1,0,1]] over the highlighted patch gives 4.
  const Tensor kernel = image(3, 3, {1, 0, 1, 0, 1, 0, 1, 0, 1});
  const Variable patch(image(3, 3, {1, 1, 1, 0, 1, 1, 0, 0, 1}));
  Variable y = conv2d(patch, Variable(kernel));
  CHECK(y.shape() == Shape{1, 1, 1, 1});
  CHECK(y.item() == 4.0f);
  // The whole figure the patch comes from (a 7x7 image, PetarV's "2D Convolution" TikZ figure):
  // its 5x5 feature map, with the 4 at row 0, column 1.
  const Variable picture(image(7, 7, {0, 1, 1, 1, 0, 0, 0,  //
                                      0, 0, 1, 1, 1, 0, 0,  //
                                      0, 0, 0, 1, 1, 1, 0,  //
                                      0, 0, 0, 1, 1, 0, 0,  //
                                      0, 0, 1, 1, 0, 0, 0,  //
                                      0, 1, 1, 0, 0, 0, 0,  //
                                      1, 1, 0, 0, 0, 0, 0}));
  check_close(conv2d(picture, Variable(kernel)).value(), image(5, 5, {1, 4, 3, 4, 1,  //
                                                                      1, 2, 4, 3, 3,  //
                                                                      1, 2, 3, 4, 1,  //
                                                                      1, 3, 3, 1, 1,  //
                                                                      3, 3, 1, 1, 0}));
}

TEST_CASE("conv2d output size is (N - F + 2P) / S + 1, rounded down (seeds/003)") {
  struct SizeCase {
    std::size_t n, f, p, s, expected;
  };
  const std::vector<SizeCase> cases = {
      {7, 3, 0, 2, 3},    // (7 - 3) / 2 + 1 = 3
      {7, 3, 0, 5, 1},    // (7 - 3) / 5 + 1 = 1.8: the last, incomplete step is dropped
      {32, 5, 2, 1, 32},  // 10 5x5 filters, stride 1, pad 2 keep 32x32
      {32, 5, 0, 1, 28},  // the seed CNN's conv1
      {14, 5, 0, 1, 10},  // its conv2
      {5, 3, 1, 1, 5},    // padding (F - 1) / 2 keeps the size
      {7, 7, 3, 1, 7},
      {8, 3, 1, 2, 4},
  };
  for (const SizeCase& c : cases) {
    CAPTURE(c.n);
    CAPTURE(c.s);
    const Variable x(filled({1, 1, c.n, c.n}, 1.0f));
    const Variable w(filled({10, 1, c.f, c.f}, 1.0f));
    const auto o = static_cast<std::int64_t>(c.p), s = static_cast<std::int64_t>(c.s);
    CHECK(conv2d(x, w, Variable(), {.stride = s, .padding = o}).shape() ==
          Shape{1, 10, c.expected, c.expected});
  }
  // Per-axis: height and width follow the formula separately.
  const Variable x(filled({2, 3, 9, 12}, 1.0f)), w(filled({4, 3, 3, 5}, 1.0f));
  CHECK(conv2d(x, w, Variable(), {.stride_h = 2, .stride_w = 3, .padding_h = 1, .padding_w = 0})
            .shape() == Shape{2, 4, 5, 3});
}

TEST_CASE("conv2d does the seed's edge-detection arithmetic: sum of products / cells") {
  // seeds/001: a receptive field times an edge kernel sums to -55, divided by its 9 cells
  // gives -6.1. (The figure's pixel values are not in the text; this patch is built to give
  // the same sum.) Dividing by the cell count is conv2d with kernel / 9, and it is also the
  // 3x3 average pool of the elementwise products.
  const Tensor kernel = image(3, 3, {1, 0, -1, 1, 0, -1, 1, 0, -1});
  const Tensor patch = image(3, 3, {5, 9, 25, 5, 9, 20, 5, 9, 25});
  Tensor scaled = kernel;
  for (float& v : scaled) v /= 9.0f;
  CHECK(conv2d(Variable(patch), Variable(kernel)).item() == -55.0f);
  const float feature = conv2d(Variable(patch), Variable(scaled)).item();
  CHECK(feature == doctest::Approx(-55.0 / 9.0));
  CHECK(std::round(feature * 10.0f) / 10.0f == doctest::Approx(-6.1));
  Tensor products = patch;
  for (std::size_t i = 0; i < 9; ++i) products.data()[i] *= kernel.data()[i];
  CHECK(avg_pool2d(Variable(products), 3).item() == doctest::Approx(feature));
}

TEST_CASE("conv2d forward and backward match PyTorch (golden values)") {
  struct GoldenCase {
    const char* prefix;
    Conv2dOptions options;
    bool bias;
  };
  const std::vector<GoldenCase> cases = {
      {"conv_plain", {.padding = 1}, true},
      {"conv_mixed", {.groups = 2, .stride_h = 2, .stride_w = 1, .padding_h = 1, .padding_w = 2,
                      .dilation_h = 1, .dilation_w = 2}, true},
      {"conv_nobias", {.stride = 2}, false},
      {"conv_seed", {}, true},
      {"conv_wide", {.padding = 1}, true},
  };
  for (const GoldenCase& c : cases) {
    const std::string p = c.prefix;
    CAPTURE(p);
    Variable x(golden::tensor(p + ".x"), true), w(golden::tensor(p + ".w"), true);
    Variable b = c.bias ? Variable(golden::tensor(p + ".b"), true) : Variable();
    Variable y = conv2d(x, w, b, c.options);
    check_close(y.value(), golden::tensor(p + ".y"), 1e-5, 1e-5);
    y.backward(golden::tensor(p + ".gy"));
    check_close(x.grad(), golden::tensor(p + ".gx"), 1e-5, 1e-5);
    check_close(w.grad(), golden::tensor(p + ".gw"), 1e-5, 1e-5);
    if (c.bias) check_close(b.grad(), golden::tensor(p + ".gb"), 1e-5, 1e-5);
  }
}

struct GradCase {
  const char* name;
  Shape x, w;
  Conv2dOptions options;
  bool bias;
};

const std::vector<GradCase> grad_cases = {
    {"3x3 pad 1", {2, 3, 5, 5}, {4, 3, 3, 3}, {.padding = 1}, true},
    {"no bias", {2, 2, 5, 4}, {3, 2, 3, 3}, {}, false},
    {"stride 2", {2, 2, 7, 6}, {3, 2, 3, 3}, {.stride = 2, .padding = 1}, true},
    {"dilation 2", {1, 2, 7, 7}, {2, 2, 3, 3}, {.padding = 2, .dilation = 2}, true},
    {"groups 2", {2, 4, 5, 5}, {6, 2, 3, 3}, {.padding = 1, .groups = 2}, true},
    {"depthwise", {2, 3, 5, 5}, {3, 1, 3, 3}, {.padding = 1, .groups = 3}, true},
    {"pointwise", {2, 4, 3, 5}, {3, 4, 1, 1}, {}, true},
    {"non-square", {2, 2, 6, 8}, {3, 2, 2, 3},
     {.stride_h = 1, .stride_w = 2, .padding_h = 0, .padding_w = 1, .dilation_h = 2}, true},
    {"1x1 stride 2", {2, 3, 5, 5}, {2, 3, 1, 1}, {.stride = 2}, true},
    {"seed shape", {1, 3, 6, 6}, {5, 3, 5, 5}, {}, true},
    {"8 channels", {2, 8, 4, 5}, {3, 8, 3, 3}, {.padding = 1}, true},
    {"8 per group, dilated", {1, 16, 5, 5}, {4, 8, 3, 2}, {.padding = 1, .dilation = 2, .groups = 2}, false},
};

TEST_CASE("conv2d gradients pass the finite-difference check for every option combination") {
  for (std::size_t k = 0; k < grad_cases.size(); ++k) {
    const GradCase& c = grad_cases[k];
    CAPTURE(c.name);
    std::vector<Variable> inputs = {Variable(test::uniform(c.x, -1, 1, 100 + k), true),
                                    Variable(test::uniform(c.w, -1, 1, 200 + k), true)};
    if (c.bias) inputs.emplace_back(test::uniform({c.w[0]}, -1, 1, 300 + k), true);
    const Conv2dOptions options = c.options;
    auto fn = [options](const std::vector<Variable>& v) {
      return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Variable(), options);
    };
    // conv2d is linear in each input, so the differences are exact up to rounding: a large
    // step keeps float32 rounding small.
    const GradcheckResult r = gradcheck(fn, inputs, {.eps = 1e-2, .atol = 1e-3});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("conv2d computes only the gradients asked for, and records nothing without grad") {
  Variable x(test::uniform({2, 3, 5, 5}, -1, 1, 1), false), w(test::uniform({4, 3, 3, 3}, -1, 1, 2), true);
  Variable b(test::uniform({4}, -1, 1, 3), false);
  Variable y = conv2d(x, w, b, {.padding = 1});
  y.backward(filled(y.shape(), 1.0f));
  CHECK(w.has_grad());
  CHECK_FALSE(x.has_grad());
  CHECK_FALSE(b.has_grad());
  w.set_requires_grad(false);
  CHECK_FALSE(conv2d(x, w, b).requires_grad());
  NoGradGuard guard;
  x.set_requires_grad(true);
  CHECK_FALSE(conv2d(x, w, b).requires_grad());
}

TEST_CASE("conv2d: bad input gives tg::Error naming the problem") {
  const Variable x(filled({64, 1, 28, 28}, 1.0f)), w(filled({5, 3, 5, 5}, 1.0f));
  CHECK_THROWS_WITH_AS(conv2d(x, w),
                       "conv2d: expected input [N, C, H, W] with C = 3 (weight [5, 3, 5, 5]), got "
                       "[64, 1, 28, 28]",
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(Variable(filled({2, 4, 8, 8}, 1.0f)), Variable(filled({6, 3, 3, 3}, 1.0f)),
                              Variable(), {.groups = 2}),
                       "conv2d: expected input [N, C, H, W] with C = 6 (weight [6, 3, 3, 3], groups 2), "
                       "got [2, 4, 8, 8]",
                       Error);
  const Variable rgb(filled({2, 3, 8, 8}, 1.0f));
  CHECK_THROWS_WITH_AS(conv2d(Variable(filled({3, 8, 8}, 1.0f)), w),
                       doctest::Contains("conv2d: expected input [N, C, H, W] (4-D), got [3, 8, 8]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(rgb, Variable(filled({5, 3, 5}, 1.0f))),
                       doctest::Contains("conv2d: expected weight [Cout, Cin/groups, kH, kW]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(rgb, w, Variable(filled({4}, 1.0f))),
                       doctest::Contains("conv2d: expected bias [5], got [4]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(rgb, w, Variable(), {.stride = 0}),
                       doctest::Contains("conv2d: expected stride >= 1"), Error);
  CHECK_THROWS_WITH_AS(conv2d(rgb, w, Variable(), {.stride_w = -2}),
                       doctest::Contains("conv2d: expected stride >= 1"), Error);
  CHECK_THROWS_WITH_AS(conv2d(rgb, w, Variable(), {.padding = -1}),
                       doctest::Contains("conv2d: expected padding >= 0"), Error);
  CHECK_THROWS_WITH_AS(conv2d(rgb, w, Variable(), {.dilation = 0}),
                       doctest::Contains("conv2d: expected dilation >= 1"), Error);
  CHECK_THROWS_WITH_AS(conv2d(rgb, Variable(filled({4, 1, 3, 3}, 1.0f)), Variable(), {.groups = 3}),
                       doctest::Contains("conv2d: expected groups = 3 to divide the output channels"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(Variable(filled({2, 4, 8, 8}, 1.0f)), Variable(filled({3, 4, 3, 3}, 1.0f)),
                              Variable(), {.groups = 3}),
                       doctest::Contains("conv2d: expected groups = 3 to divide"), Error);
  CHECK_THROWS_WITH_AS(conv2d(rgb, w, Variable(), {.groups = 0}),
                       doctest::Contains("conv2d: expected groups >= 1, got 0"), Error);
  CHECK_THROWS_WITH_AS(conv2d(Variable(filled({1, 3, 4, 4}, 1.0f)), w),
                       doctest::Contains("conv2d: expected the kernel (5x5 after dilation) to fit in "
                                         "the padded input (4x4)"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(rgb, w, Variable(), {.dilation = 2}),
                       doctest::Contains("(9x9 after dilation) to fit in the padded input (8x8)"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(Variable(), w), doctest::Contains("conv2d: expected a defined input"),
                       Error);
}

}  // namespace
