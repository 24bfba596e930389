// Autocast (bf16 products, fp32 accumulation): the fp32 <-> bf16 conversion against PyTorch's,
// the guard's scoping, and conv2d / linear / matmul forward and backward against fp32, against
// fp32 on bf16-rounded inputs (which the bf16 kernels must match to fp32 accumulation error)
// and against PyTorch's CPU autocast (golden/make_autocast_golden.py). CTest runs this file
// three times: TAPEGRAD_AUTOCAST_BF16 unset (auto), =on and =off, so the fp32 fallback is
// checked on every CPU and the bf16 kernels on every CPU that has them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <tapegrad/autograd/kernels/conv2d.hpp>
#include <tapegrad/autograd/kernels/conv2d_winograd.hpp>
#include <tapegrad/autograd/kernels/gemm_bf16.hpp>

#include "test_util.hpp"

using namespace tg;

namespace {

#include "autograd/golden/autocast_golden.inc"

const std::vector<float>& golden(const std::string& name) {
  for (const AutocastGolden& g : autocast_golden)
    if (g.name == name) return g.values;
  FAIL("no autocast golden called ", name);
  static const std::vector<float> none;
  return none;
}

// The inputs of make_autocast_golden.py: exact in fp32, not in bf16.
Tensor pattern(const Shape& shape, std::int64_t seed, float scale = 1.0f) {
  Tensor t = empty_tensor(shape);
  for (std::size_t i = 0; i < t.size(); ++i)
    t.data()[i] = float(double((std::int64_t(i) * 7919 + seed * 104729) % 4093 - 2046) / 2048.0 * scale);
  return t;
}

Tensor rounded(const Tensor& t) {
  Tensor r = t;
  for (float& v : r) v = kernels::round_to_bf16(v);
  return r;
}

float max_abs(const float* v, std::size_t n) {
  float m = 0.0f;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(v[i]));
  return m;
}

float max_diff(const float* a, const float* b, std::size_t n) {
  float m = 0.0f;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// |a - b| <= rel * max|b| everywhere: relative to the result's scale, as sums of products with
// both signs have entries near zero whose own relative error means nothing.
void check_near(const Tensor& a, const float* b, std::size_t n, float rel, const std::string& what) {
  CAPTURE(what);
  REQUIRE(a.size() == n);
  const float scale = std::max(max_abs(b, n), 1e-30f);
  const float diff = max_diff(a.data(), b, n);
  CAPTURE(diff / scale);
  CHECK(diff <= rel * scale);
}

struct Case {
  std::string name;
  std::vector<Tensor> inputs;
  std::function<Variable(const std::vector<Variable>&)> fn;
  std::int64_t gy_seed;
  std::vector<bool> is_bias;  // bias gradients are fp32 sums of the incoming gradient
  Conv2dOptions conv = {};     // conv cases: their options
};

std::vector<Case> cases() {
  auto conv = [](Conv2dOptions o) {
    return [o](const std::vector<Variable>& v) {
      return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Variable(), o);
    };
  };
  Conv2dOptions same;
  same.padding = 1;
  Conv2dOptions stride2;
  stride2.stride = 2;
  stride2.padding = 1;
  Conv2dOptions groups;
  groups.padding_h = 0;
  groups.padding_w = 1;
  groups.groups = 2;
  Conv2dOptions odd;  // 3 input channels: the last channel pair is half zero
  odd.padding_h = 1;
  odd.padding_w = 2;
  return {
      {"conv_same", {pattern({2, 16, 8, 8}, 1), pattern({32, 16, 3, 3}, 2, 0.25f), pattern({32}, 3)},
       conv(same), 4, {false, false, true}, same},
      {"conv_stride2", {pattern({2, 8, 9, 9}, 5), pattern({16, 8, 3, 3}, 6, 0.25f), pattern({16}, 7)},
       conv(stride2), 8, {false, false, true}, stride2},
      {"conv_groups", {pattern({1, 8, 6, 5}, 9), pattern({12, 4, 3, 3}, 10, 0.25f)}, conv(groups), 11,
       {false, false}, groups},
      {"conv_1x1", {pattern({2, 24, 4, 4}, 12), pattern({20, 24, 1, 1}, 13, 0.25f), pattern({20}, 14)},
       conv({}), 15, {false, false, true}},
      {"conv_winograd", {pattern({2, 32, 6, 6}, 23), pattern({32, 32, 3, 3}, 24, 0.25f), pattern({32}, 25)},
       conv(same), 26, {false, false, true}, same},
      {"conv_odd", {pattern({2, 3, 7, 5}, 27), pattern({8, 3, 3, 3}, 28, 0.25f), pattern({8}, 29)},
       conv(odd), 30, {false, false, true}, odd},
      {"linear", {pattern({5, 200}, 16), pattern({30, 200}, 17, 0.1f), pattern({30}, 18)},
       [](const std::vector<Variable>& v) { return linear(v[0], v[1], v[2]); }, 19, {false, false, true}},
      {"matmul", {pattern({3, 5, 64}, 20), pattern({3, 64, 7}, 21)},
       [](const std::vector<Variable>& v) { return matmul(v[0], v[1]); }, 22, {false, false}},
  };
}

struct Result {
  Tensor y;
  std::vector<Tensor> grads;
};

// Forward (under autocast when asked), then backward outside it with gy from the pattern.
Result run(const Case& c, bool autocast, const std::vector<Tensor>& inputs, bool round_gy = false) {
  std::vector<Variable> leaves;
  for (const Tensor& t : inputs) leaves.emplace_back(t, true);
  Variable y;
  {
    AutocastGuard guard(autocast);
    y = c.fn(leaves);
  }
  Tensor gy = pattern(y.shape(), c.gy_seed);
  if (round_gy) gy = rounded(gy);
  y.backward(gy);
  Result r{y.value(), {}};
  for (const Variable& v : leaves) r.grads.push_back(v.grad());
  return r;
}

bool bf16_chosen() {
  AutocastGuard guard;
  return autocast::bf16_active();
}

// How a case multiplies under autocast: linear and matmul in bf16 whenever the bf16 kernels are
// chosen; a conv through im2col + gemm_bf16 where that is its route (every non-Winograd conv
// when TAPEGRAD_AUTOCAST_BF16=on), through Winograd with bf16 products (the transformed tiles
// rounded, not the inputs) where Winograd applies, else in fp32.
enum class Route { fp32, bf16, winograd_bf16 };

Route route_of(const Case& c) {
  if (!bf16_chosen()) return Route::fp32;
  if (c.name.rfind("conv", 0) != 0) return Route::bf16;
  const Shape& xs = c.inputs[0].shape();
  const Shape& ws = c.inputs[1].shape();
  kernels::ConvGeometry g;
  g.batch = std::int64_t(xs[0]);
  g.in_channels = std::int64_t(xs[1]);
  g.height = std::int64_t(xs[2]);
  g.width = std::int64_t(xs[3]);
  g.out_channels = std::int64_t(ws[0]);
  g.kernel_h = std::int64_t(ws[2]);
  g.kernel_w = std::int64_t(ws[3]);
  g.groups = c.conv.groups;
  g.stride_h = g.stride_w = c.conv.stride;
  g.pad_h = c.conv.padding_h >= 0 ? c.conv.padding_h() : c.conv.padding();
  g.pad_w = c.conv.padding_w >= 0 ? c.conv.padding_w() : c.conv.padding();
  g.compute_output_size();
  if (kernels::winograd_applies(g)) return Route::winograd_bf16;
  return kernels::conv2d_bf16_route(g) ? Route::bf16 : Route::fp32;
}

}  // namespace

TEST_CASE("fp32 -> bf16 rounds to nearest even as PyTorch does; infinities and denormals kept") {
  REQUIRE(conversion_in.size() == conversion_out.size());
  for (std::size_t i = 0; i < conversion_in.size(); ++i) {
    float v = 0.0f;
    std::memcpy(&v, &conversion_in[i], sizeof(v));
    CAPTURE(conversion_in[i]);
    CHECK(kernels::float_to_bf16(v) == conversion_out[i]);
  }
  // Ties: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 and goes to the even one (1); the next
  // tie, 1 + 3 * 2^-8, goes up to 1 + 2^-6.
  CHECK(kernels::round_to_bf16(1.00390625f) == 1.0f);
  CHECK(kernels::round_to_bf16(1.01171875f) == 1.015625f);
  CHECK(kernels::bf16_to_float(kernels::float_to_bf16(3.0f)) == 3.0f);
  // Infinities stay, the largest floats round up to infinity (as bf16 does), denormals stay
  // denormal rather than flushed.
  CHECK(std::isinf(kernels::round_to_bf16(std::numeric_limits<float>::infinity())));
  CHECK(kernels::round_to_bf16(-std::numeric_limits<float>::infinity()) < 0.0f);
  CHECK(std::isinf(kernels::round_to_bf16(std::numeric_limits<float>::max())));
  const float denormal = kernels::round_to_bf16(1.0e-40f);
  CHECK(denormal > 0.0f);
  CHECK(std::fpclassify(denormal) == FP_SUBNORMAL);
  CHECK(std::signbit(kernels::round_to_bf16(-0.0f)));
}

TEST_CASE("NaN stays NaN through fp32 -> bf16, quiet and with its sign") {
  // Quiet NaNs, a signalling NaN whose payload lies only in the low bits (truncation would
  // make it infinity), and one whose rounding would carry into the exponent.
  for (std::uint32_t bits : {0x7fc00000u, 0xffc00001u, 0x7f800001u, 0xff800001u, 0x7fbfffffu, 0x7fffffffu}) {
    CAPTURE(bits);
    float v = 0.0f;
    std::memcpy(&v, &bits, sizeof(v));
    const std::uint16_t h = kernels::float_to_bf16(v);
    CHECK(std::isnan(kernels::bf16_to_float(h)));
    CHECK((h & 0x0040u) != 0);                // the quiet bit
    CHECK((h & 0x8000u) == ((bits >> 16) & 0x8000u));  // the sign
  }
}

TEST_CASE("AutocastGuard nests, restores the previous state and is per thread") {
  CHECK_FALSE(autocast::is_enabled());
  {
    AutocastGuard on;
    CHECK(autocast::is_enabled());
    {
      AutocastGuard off(false);
      CHECK_FALSE(autocast::is_enabled());
      CHECK_FALSE(autocast::bf16_active());
    }
    CHECK(autocast::is_enabled());
    bool other_thread = true;
    std::thread([&] { other_thread = autocast::is_enabled(); }).join();
    CHECK_FALSE(other_thread);
  }
  CHECK_FALSE(autocast::is_enabled());
  autocast::set_enabled(true);
  CHECK(autocast::is_enabled());
  autocast::set_enabled(false);
  CHECK_FALSE(autocast::is_enabled());
  CHECK_FALSE(autocast::bf16_active());  // never outside autocast
}

TEST_CASE("build_info says what autocast multiplies in and why") {
  const std::string info = build_info();
  CHECK(info.find("autocast:") != std::string::npos);
  const std::string choice = autocast::kernel_choice();
  CHECK((choice.rfind("bf16: ", 0) == 0 || choice.rfind("fp32: ", 0) == 0));
  CHECK((choice.rfind("bf16", 0) == 0) == kernels::bf16_decision().use_bf16);
  if (!kernels::bf16_kernels_available()) CHECK_FALSE(bf16_chosen());
  MESSAGE("autocast: " << choice);
}

TEST_CASE("conv2d, linear and matmul under autocast: within bf16's tolerance of fp32") {
  for (const Case& c : cases()) {
    CAPTURE(c.name);
    const bool bf16 = route_of(c) != Route::fp32;
    const Result fp32 = run(c, false, c.inputs);
    const Result mixed = run(c, true, c.inputs);
    check_near(mixed.y, fp32.y.data(), fp32.y.size(), 1e-2f, c.name + " forward");
    for (std::size_t i = 0; i < fp32.grads.size(); ++i)
      check_near(mixed.grads[i], fp32.grads[i].data(), fp32.grads[i].size(), 1e-2f,
                 c.name + " gradient " + std::to_string(i));
    if (!bf16) {  // the fp32 kernels themselves: the very same numbers
      CHECK(max_diff(mixed.y.data(), fp32.y.data(), fp32.y.size()) == 0.0f);
      for (std::size_t i = 0; i < fp32.grads.size(); ++i)
        CHECK(max_diff(mixed.grads[i].data(), fp32.grads[i].data(), fp32.grads[i].size()) == 0.0f);
    } else {  // rounded to bf16 for real: not the fp32 result
      CHECK(max_diff(mixed.y.data(), fp32.y.data(), fp32.y.size()) > 0.0f);
    }
  }
}

TEST_CASE("the bf16 kernels round the operands and nothing else: fp32 on rounded inputs") {
  if (!bf16_chosen()) {
    MESSAGE("autocast runs the fp32 kernels here: " << autocast::kernel_choice());
    return;
  }
  // A product of two bf16 values is exact in fp32, so bf16 products with fp32 accumulation
  // equal the fp32 op on rounded inputs up to the order of the sums (~1e-6 relative).
  for (const Case& c : cases()) {
    CAPTURE(c.name);
    if (route_of(c) != Route::bf16) continue;
    std::vector<Tensor> r;  // the bias is added in fp32, after the products: not rounded
    for (std::size_t i = 0; i < c.inputs.size(); ++i) r.push_back(c.is_bias[i] ? c.inputs[i] : rounded(c.inputs[i]));
    const Result reference = run(c, false, r, true);
    const Result mixed = run(c, true, c.inputs);
    check_near(mixed.y, reference.y.data(), reference.y.size(), 1e-5f, c.name + " forward");
    for (std::size_t i = 0; i < mixed.grads.size(); ++i) {
      if (c.is_bias[i]) continue;  // an fp32 sum of gy, not a product: checked against fp32 above
      check_near(mixed.grads[i], reference.grads[i].data(), reference.grads[i].size(), 1e-5f,
                 c.name + " gradient " + std::to_string(i));
    }
  }
}

TEST_CASE("conv2d, linear and matmul under autocast match PyTorch's CPU autocast (bf16)") {
  for (const Case& c : cases()) {
    CAPTURE(c.name);
    const Result mixed = run(c, true, c.inputs);
    const std::vector<float>& y = golden(c.name + ".y");
    check_near(mixed.y, y.data(), y.size(), 1e-2f, c.name + " forward");
    for (std::size_t i = 0; i < mixed.grads.size(); ++i) {
      const std::vector<float>& g = golden(c.name + ".g" + std::to_string(i));
      check_near(mixed.grads[i], g.data(), g.size(), 1e-2f, c.name + " gradient " + std::to_string(i));
    }
  }
}

TEST_CASE("backward follows the forward's precision, not the autocast state at backward()") {
  const Case c = cases()[0];
  const Result mixed = run(c, true, c.inputs);
  const Result fp32 = run(c, false, c.inputs);
  // Forward under autocast, backward inside another guard that turns it off: bf16 gradients.
  // Forward in fp32, backward under autocast: fp32 gradients.
  for (bool forward_autocast : {true, false}) {
    CAPTURE(forward_autocast);
    std::vector<Variable> leaves;
    for (const Tensor& t : c.inputs) leaves.emplace_back(t, true);
    Variable y;
    {
      AutocastGuard guard(forward_autocast);
      y = c.fn(leaves);
    }
    {
      AutocastGuard guard(!forward_autocast);
      y.backward(pattern(y.shape(), c.gy_seed));
    }
    const Result& expected = forward_autocast ? mixed : fp32;
    for (std::size_t i = 0; i < leaves.size(); ++i)
      CHECK(max_diff(leaves[i].grad().data(), expected.grads[i].data(), expected.grads[i].size()) == 0.0f);
  }
}

TEST_CASE("gemm_bf16 on odd shapes, transposes and beta against fp32 on rounded operands") {
  if (!kernels::bf16_kernels_available()) {
    MESSAGE("no AVX512-BF16 on this CPU: gemm_bf16 is never called");
    return;
  }
  struct Shape3 {
    std::int64_t m, n, k;
  };
  for (Shape3 s : {Shape3{1, 1, 1}, Shape3{13, 50, 7}, Shape3{8, 48, 256}, Shape3{17, 97, 301},
                   Shape3{64, 130, 600}}) {
    for (int variant = 0; variant < 8; ++variant) {
      const bool ta = variant & 1, tb = variant & 2;
      const float beta = (variant & 4) ? 0.5f : 0.0f;
      CAPTURE(s.m);
      CAPTURE(s.n);
      CAPTURE(s.k);
      CAPTURE(variant);
      const Tensor a = pattern({std::size_t(s.m * s.k)}, 30 + variant);
      const Tensor b = pattern({std::size_t(s.k * s.n)}, 40 + variant);
      const Tensor c0 = pattern({std::size_t(s.m * s.n)}, 50 + variant);
      Tensor c = c0;
      const std::int64_t lda = ta ? s.m : s.k, ldb = tb ? s.k : s.n;
      kernels::gemm_bf16(ta, tb, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, beta, c.data(), s.n);
      std::vector<float> expected(std::size_t(s.m * s.n));
      for (std::int64_t i = 0; i < s.m; ++i)
        for (std::int64_t j = 0; j < s.n; ++j) {
          double acc = 0.0;
          for (std::int64_t p = 0; p < s.k; ++p) {
            const float av = ta ? a.data()[p * lda + i] : a.data()[i * lda + p];
            const float bv = tb ? b.data()[j * ldb + p] : b.data()[p * ldb + j];
            acc += double(kernels::round_to_bf16(av)) * double(kernels::round_to_bf16(bv));
          }
          expected[std::size_t(i * s.n + j)] = float(acc + double(beta) * c0.data()[i * s.n + j]);
        }
      check_near(c, expected.data(), expected.size(), 1e-5f, "gemm_bf16");
    }
  }
}
