// conv_transpose2d: PyTorch-derived golden values (golden/make_layers_golden.py) for stride,
// padding, output_padding (below the stride, or below the dilation), groups, dilation,
// per-axis options and DCGAN's generator shapes; a direct-loop reference for the kernels'
// wide-channel and Winograd routes; the finite-difference gradient check; the errors.
#include <string>
#include <vector>

#include "autograd/golden/layers_golden.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::check_close;

namespace {

struct GoldenCase {
  const char* name;
  bool bias;
  ConvTranspose2dFuncOptions options;
};

const std::vector<GoldenCase> golden_cases = {
    {"ct_plain", true, {}},
    {"ct_stride2", true, {.stride = 2}},
    {"ct_pad1_outpad1", true, {.stride = 2, .padding = 1, .output_padding = 1}},
    {"ct_groups2", true, {.stride = 2, .padding = 1, .groups = 2}},
    {"ct_dilation2", true, {.padding = 1, .dilation = 2}},
    {"ct_rect", false, {.stride_h = 2, .stride_w = 1, .padding_h = 0, .padding_w = 1,
                        .output_padding_h = 1, .output_padding_w = 0}},
    {"ct_outpad_dil", true, {.padding_h = 1, .padding_w = 0, .output_padding_h = 1,
                             .output_padding_w = 2, .dilation_h = 2, .dilation_w = 3}},
    {"ct_dcgan1", false, {}},
    {"ct_dcgan2", false, {.stride = 2, .padding = 1}},
    {"ct_dcgan3", false, {.stride = 2, .padding = 1}},
    {"ct_dcgan4", false, {.stride = 2, .padding = 1}},
};

// y[n, o, i*s - p + a*d, j*s - p + b*d] += x[n, c, i, j] * w[c, o', a, b]: the definition.
Tensor reference(const Tensor& x, const Tensor& w, std::int64_t stride, std::int64_t pad,
                 std::int64_t groups) {
  const auto n = static_cast<std::int64_t>(x.shape()[0]), cin = static_cast<std::int64_t>(x.shape()[1]);
  const auto h = static_cast<std::int64_t>(x.shape()[2]), wd = static_cast<std::int64_t>(x.shape()[3]);
  const auto cog = static_cast<std::int64_t>(w.shape()[1]), kh = static_cast<std::int64_t>(w.shape()[2]);
  const auto kw = static_cast<std::int64_t>(w.shape()[3]);
  const std::int64_t cout = cog * groups, cig = cin / groups;
  const std::int64_t ho = (h - 1) * stride - 2 * pad + kh, wo = (wd - 1) * stride - 2 * pad + kw;
  Tensor y = filled({static_cast<std::size_t>(n), static_cast<std::size_t>(cout),
                     static_cast<std::size_t>(ho), static_cast<std::size_t>(wo)}, 0.0f);
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t c = 0; c < cin; ++c)
      for (std::int64_t i = 0; i < h; ++i)
        for (std::int64_t j = 0; j < wd; ++j)
          for (std::int64_t o = 0; o < cog; ++o)
            for (std::int64_t a = 0; a < kh; ++a)
              for (std::int64_t e = 0; e < kw; ++e) {
                const std::int64_t r = i * stride - pad + a, q = j * stride - pad + e;
                if (r < 0 || r >= ho || q < 0 || q >= wo) continue;
                const std::int64_t oc = (c / cig) * cog + o;
                y.data()[((b * cout + oc) * ho + r) * wo + q] +=
                    x.data()[((b * cin + c) * h + i) * wd + j] *
                    w.data()[((c * cog + o) * kh + a) * kw + e];
              }
  return y;
}

}  // namespace

TEST_CASE("conv_transpose2d forward and gradients match PyTorch") {
  for (const GoldenCase& c : golden_cases) {
    CAPTURE(std::string(c.name));
    const std::string p = c.name;
    Variable x(golden::layers(p + ".x"), true), w(golden::layers(p + ".w"), true);
    Variable b = c.bias ? Variable(golden::layers(p + ".b"), true) : Variable();
    Variable y = conv_transpose2d(x, w, b, c.options);
    check_close(y.value(), golden::layers(p + ".y"), 1e-5, 1e-4);
    y.backward(golden::layers(p + ".gy"));
    check_close(x.grad(), golden::layers(p + ".gx"), 1e-5, 1e-4);
    check_close(w.grad(), golden::layers(p + ".gw"), 1e-5, 1e-4);
    if (c.bias) check_close(b.grad(), golden::layers(p + ".gb"), 1e-5, 1e-4);
  }
}

TEST_CASE("conv_transpose2d agrees with the direct loops on the kernels' wide-channel routes") {
  struct Wide {
    Shape x, w;
    std::int64_t stride, pad, groups;
  };
  // stride 1 with many channels (the flipped-conv and Winograd routes), DCGAN's 256 -> 128
  // stride 2 (GEMM + col2im with small_gemm), a grouped wide case, and DCGAN's noise layer
  // (a 1x1 input: one GEMM over the batch).
  for (const Wide& c : {Wide{{2, 16, 5, 5}, {16, 16, 3, 3}, 1, 1, 1},
                        Wide{{1, 32, 6, 6}, {32, 32, 3, 3}, 1, 1, 1},
                        Wide{{2, 64, 4, 4}, {64, 32, 3, 3}, 2, 1, 1},
                        Wide{{1, 32, 5, 5}, {32, 16, 4, 4}, 2, 1, 2},
                        Wide{{4, 100, 1, 1}, {100, 64, 4, 4}, 1, 0, 1}}) {
    CAPTURE(shape_str(c.w));
    const Tensor x = test::uniform(c.x, -1, 1, 7), w = test::uniform(c.w, -1, 1, 8);
    Variable xv(x, true), wv(w, true);
    Variable y = conv_transpose2d(xv, wv, Variable(),
                                  {.stride = c.stride, .padding = c.pad, .groups = c.groups});
    check_close(y.value(), reference(x, w, c.stride, c.pad, c.groups), 1e-4, 1e-4);
    // The gradients against finite differences would be slow at this size; instead check
    // <gy, y(x, w)> = <gx, x> = <gw, w> (y is linear in each), which pins down both gradients.
    const Tensor gy = test::uniform(y.shape(), -1, 1, 9);
    y.backward(gy);
    double yy = 0, xx = 0, ww = 0;
    for (std::size_t i = 0; i < gy.size(); ++i) yy += double(gy.data()[i]) * y.value().data()[i];
    for (std::size_t i = 0; i < x.size(); ++i) xx += double(xv.grad().data()[i]) * x.data()[i];
    for (std::size_t i = 0; i < w.size(); ++i) ww += double(wv.grad().data()[i]) * w.data()[i];
    CHECK(xx == doctest::Approx(yy).epsilon(1e-4));
    CHECK(ww == doctest::Approx(yy).epsilon(1e-4));
  }
}

TEST_CASE("conv_transpose2d gradients pass the finite-difference check") {
  struct GradCase {
    const char* name;
    Shape x, w;
    bool bias;
    ConvTranspose2dFuncOptions options;
  };
  const std::vector<GradCase> cases = {
      {"plain", {2, 2, 3, 3}, {2, 3, 2, 2}, true, {}},
      {"stride2 pad1 outpad1", {1, 2, 3, 3}, {2, 2, 3, 3}, true,
       {.stride = 2, .padding = 1, .output_padding = 1}},
      {"groups2", {1, 4, 2, 3}, {4, 1, 3, 3}, true, {.stride = 2, .groups = 2}},
      {"dilation2", {1, 2, 3, 3}, {2, 2, 2, 3}, false, {.padding = 1, .dilation = 2}},
      {"rect", {1, 2, 3, 2}, {2, 2, 3, 2}, true,
       {.stride_h = 1, .stride_w = 3, .output_padding_w = 2}},
      {"dcgan 4x4 s2 p1", {2, 3, 3, 3}, {3, 2, 4, 4}, false, {.stride = 2, .padding = 1}},
      {"1x1 input (one GEMM)", {3, 4, 1, 1}, {4, 3, 2, 3}, true, {.stride = 2}},
      {"output_padding < dilation", {1, 2, 3, 2}, {2, 2, 2, 2}, true,
       {.padding = 1, .output_padding = 2, .dilation = 3}},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const GradCase& c = cases[k];
    CAPTURE(std::string(c.name));
    std::vector<Variable> inputs = {Variable(test::uniform(c.x, -1, 1, 100 + k), true),
                                    Variable(test::uniform(c.w, -1, 1, 200 + k), true)};
    if (c.bias)
      inputs.emplace_back(test::uniform({c.w[1] * static_cast<std::size_t>(c.options.groups)},
                                        -1, 1, 300 + k),
                          true);
    const ConvTranspose2dFuncOptions options = c.options;
    auto fn = [options](const std::vector<Variable>& v) {
      return conv_transpose2d(v[0], v[1], v.size() > 2 ? v[2] : Variable(), options);
    };
    const GradcheckResult r = gradcheck(fn, inputs, {.eps = 1e-2, .atol = 1e-3});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("conv_transpose2d computes only the gradients asked for") {
  Variable x(test::uniform({2, 3, 4, 4}, -1, 1, 1), false), w(test::uniform({3, 2, 3, 3}, -1, 1, 2), true);
  Variable b(test::uniform({2}, -1, 1, 3), false);
  Variable y = conv_transpose2d(x, w, b, {.stride = 2});
  CHECK(y.shape() == Shape{2, 2, 9, 9});
  y.backward(filled(y.shape(), 1.0f));
  CHECK(w.has_grad());
  CHECK_FALSE(x.has_grad());
  CHECK_FALSE(b.has_grad());
}

TEST_CASE("conv_transpose2d: bad input gives tg::Error naming the problem") {
  const Variable x(filled({2, 4, 5, 5}, 1.0f)), w(filled({4, 3, 3, 3}, 1.0f));
  CHECK_THROWS_WITH_AS(conv_transpose2d(Variable(filled({4, 5, 5}, 1.0f)), w),
                       doctest::Contains("add the batch dimension"), Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(Variable(filled({2, 3, 5, 5}, 1.0f)), w),
                       doctest::Contains("with C = 4"), Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(x, w, Variable(filled({4}, 0.0f))),
                       doctest::Contains("expected bias [3]"), Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(x, w, Variable(), {.stride = 2, .output_padding = 2}),
                       doctest::Contains("output_padding < stride"), Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(x, w, Variable(), {.groups = 3}),
                       doctest::Contains("groups = 3"), Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(x, w, Variable(), {.stride = 0}),
                       doctest::Contains("stride >= 1"), Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(Variable(filled({1, 4, 1, 1}, 1.0f)), w, Variable(),
                                        {.padding = 2}),
                       doctest::Contains("at least 1x1"), Error);
  CHECK_THROWS_AS(conv_transpose2d(x, Variable(filled({4, 3, 3}, 1.0f))), Error);
}
