// batch_norm and dropout: hand-worked numbers, PyTorch-derived golden values (golden/), the
// running statistics' update rule, finite-difference gradient checks, and the errors.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "autograd/golden/golden.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::check_close;
using tg::test::make;

namespace {

TEST_CASE("batch_norm on [N, C] by hand: batch statistics, affine, running statistics") {
  // Channel 0: {1, 2, 3, 4}: mean 2.5, biased variance 1.25, unbiased 5/3.
  // Channel 1: {10, 10, 10, 14}: mean 11, biased variance 3, unbiased 4.
  const Variable x(make({4, 2}, {1, 10, 2, 10, 3, 10, 4, 14}));
  const Variable w(make({2}, {2, 1})), b(make({2}, {1, -1}));
  Tensor rm = make({2}, {0, 1}), rv = make({2}, {1, 2});
  Variable y = batch_norm(x, &rm, &rv, w, b, true, 0.1f, 1e-5f);
  const float s0 = 1 / std::sqrt(1.25f + 1e-5f), s1 = 1 / std::sqrt(3.0f + 1e-5f);
  check_close(y.value(), make({4, 2}, {2 * -1.5f * s0 + 1, -1 * s1 - 1, 2 * -0.5f * s0 + 1, -1 * s1 - 1,
                                       2 * 0.5f * s0 + 1, -1 * s1 - 1, 2 * 1.5f * s0 + 1, 3 * s1 - 1}));
  // running = 0.9 * running + 0.1 * batch, the variance unbiased.
  check_close(rm, make({2}, {0.25f, 0.9f + 1.1f}));
  check_close(rv, make({2}, {0.9f + 0.1f * 5 / 3, 1.8f + 0.4f}));
  // Eval uses the running statistics: (x - 0.25) / sqrt(0.9 + 1/6 + eps) for channel 0.
  Variable e = batch_norm(x, &rm, &rv, Variable(), Variable(), false);
  CHECK(e.value()(0, 0) == doctest::Approx((1 - 0.25) / std::sqrt(0.9 + 1.0 / 6 + 1e-5)));
  CHECK(e.value()(3, 1) == doctest::Approx((14 - 2.0) / std::sqrt(2.2 + 1e-5)));
  check_close(rm, make({2}, {0.25f, 2.0f}));  // eval leaves them alone
}

TEST_CASE("batch_norm on [N, C, H, W] normalises each channel over N, H and W") {
  // Channel 0 holds 1..8 (mean 4.5, variance 5.25), channel 1 is constant 3 (variance 0).
  Tensor t = empty_tensor({2, 2, 2, 2});
  for (std::size_t n = 0; n < 2; ++n)
    for (std::size_t i = 0; i < 4; ++i) {
      t.data()[(n * 2 + 0) * 4 + i] = static_cast<float>(n * 4 + i + 1);
      t.data()[(n * 2 + 1) * 4 + i] = 3.0f;
    }
  Variable y = batch_norm(Variable(t), nullptr, nullptr, Variable(), Variable(), true);
  CHECK(y.value()(0, 0, 0, 0) == doctest::Approx(-3.5 / std::sqrt(5.25 + 1e-5)));
  CHECK(y.value()(1, 0, 1, 1) == doctest::Approx(3.5 / std::sqrt(5.25 + 1e-5)));
  CHECK(y.value()(1, 1, 0, 1) == 0.0f);  // constant channel: 0, not NaN (eps)
}

void check_golden(const std::string& p, bool training) {
  CAPTURE(p);
  Variable x(golden::tensor(p + ".x"), true), w(golden::tensor(p + ".w"), true), b(golden::tensor(p + ".b"), true);
  Tensor rm = golden::tensor(p + ".running_mean"), rv = golden::tensor(p + ".running_var");
  Variable y = batch_norm(x, &rm, &rv, w, b, training, 0.1f, 1e-5f);
  check_close(y.value(), golden::tensor(p + ".y"), 1e-5, 1e-5);
  check_close(rm, golden::tensor(p + ".running_mean_after"), 1e-6, 1e-6);
  check_close(rv, golden::tensor(p + ".running_var_after"), 1e-6, 1e-6);
  y.backward(golden::tensor(p + ".gy"));
  check_close(x.grad(), golden::tensor(p + ".gx"), 1e-5, 1e-4);
  check_close(w.grad(), golden::tensor(p + ".gw"), 1e-5, 1e-5);
  check_close(b.grad(), golden::tensor(p + ".gb"), 1e-5, 1e-5);
}

TEST_CASE("batch_norm matches PyTorch in training and eval (golden values)") {
  check_golden("bn2d_train", true);
  check_golden("bn2d_eval", false);
  check_golden("bn1d_train", true);
}

struct GradCase {
  const char* name;
  Shape x;
  bool training, affine;
};

TEST_CASE("batch_norm gradients pass the finite-difference check") {
  const std::vector<GradCase> cases = {
      {"4-D training", {3, 2, 3, 2}, true, true},   {"4-D training, no affine", {2, 3, 2, 2}, true, false},
      {"2-D training", {5, 3}, true, true},         {"4-D eval", {2, 2, 3, 3}, false, true},
      {"2-D eval, no affine", {4, 3}, false, false},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const GradCase& c = cases[k];
    CAPTURE(c.name);
    const std::size_t ch = c.x[1];
    std::vector<Variable> inputs = {Variable(test::uniform(c.x, -2, 2, 10 + k), true)};
    if (c.affine) {
      inputs.emplace_back(test::uniform({ch}, 0.5f, 1.5f, 20 + k), true);
      inputs.emplace_back(test::uniform({ch}, -1, 1, 30 + k), true);
    }
    const Tensor rm = test::uniform({ch}, -0.5f, 0.5f, 40 + k), rv = test::uniform({ch}, 0.5f, 2, 50 + k);
    const bool training = c.training;
    auto fn = [training, rm, rv](const std::vector<Variable>& v) {
      Tensor m = rm, var = rv;  // fresh copies: every call sees the same running statistics
      return batch_norm(v[0], training ? nullptr : &m, training ? nullptr : &var,
                        v.size() > 1 ? v[1] : Variable(), v.size() > 2 ? v[2] : Variable(), training);
    };
    const GradcheckResult r = gradcheck(fn, inputs, {.eps = 1e-2, .atol = 2e-3, .rtol = 1e-2});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("batch_norm_relu equals relu(batch_norm): values, running statistics, gradients") {
  for (const bool training : {true, false}) {
    CAPTURE(training);
    const Tensor x0 = test::uniform({3, 4, 5, 5}, -2, 2, 60), gy = test::uniform({3, 4, 5, 5}, -1, 1, 61);
    const Tensor w0 = test::uniform({4}, 0.5f, 1.5f, 62), b0 = test::uniform({4}, -0.5f, 0.5f, 63);
    Tensor rm1 = test::uniform({4}, -0.5f, 0.5f, 64), rv1 = test::uniform({4}, 0.5f, 2, 65);
    Tensor rm2 = rm1, rv2 = rv1;
    Variable x1(x0, true), w1(w0, true), b1(b0, true), x2(x0, true), w2(w0, true), b2(b0, true);
    // A named batch-norm output is not a temporary: relu leaves it alone and does not fuse.
    Variable normalized = batch_norm(x1, &rm1, &rv1, w1, b1, training, 0.1f);
    Variable unfused = relu(normalized);
    REQUIRE(std::string(unfused.op_name()) == "relu");
    Variable fused = batch_norm_relu(x2, &rm2, &rv2, w2, b2, training, 0.1f);
    check_close(fused.value(), unfused.value(), 1e-6);
    check_close(rm2, rm1, 0);
    check_close(rv2, rv1, 0);
    CHECK(std::count_if(fused.value().begin(), fused.value().end(), [](float v) { return v == 0; }) > 10);
    sum(unfused * Variable(gy)).backward();
    sum(fused * Variable(gy)).backward();
    check_close(x2.grad(), x1.grad(), 1e-5);
    check_close(w2.grad(), w1.grad(), 1e-5);
    check_close(b2.grad(), b1.grad(), 1e-5);
  }
}

TEST_CASE("relu of a temporary batch_norm fuses into batch_norm_relu: same values and gradients") {
  for (const bool training : {true, false}) {
    CAPTURE(training);
    const Tensor x0 = test::uniform({3, 4, 5, 5}, -2, 2, 80), gy = test::uniform({3, 4, 5, 5}, -1, 1, 81);
    const Tensor w0 = test::uniform({4}, 0.5f, 1.5f, 82), b0 = test::uniform({4}, -0.5f, 0.5f, 83);
    Tensor rm1 = test::uniform({4}, -0.5f, 0.5f, 84), rv1 = test::uniform({4}, 0.5f, 2, 85);
    Tensor rm2 = rm1, rv2 = rv1;
    Variable x1(x0, true), w1(w0, true), b1(b0, true), x2(x0, true), w2(w0, true), b2(b0, true);
    Variable normalized = batch_norm(x1, &rm1, &rv1, w1, b1, training, 0.1f);
    Variable unfused = relu(normalized);
    Variable fused = relu(batch_norm(x2, &rm2, &rv2, w2, b2, training, 0.1f));
    CHECK(std::string(fused.op_name()) == "batch_norm_relu");
    CHECK(std::count_if(normalized.value().begin(), normalized.value().end(), [](float v) { return v < 0; }) > 10);
    check_close(fused.value(), unfused.value(), 0);
    check_close(rv2, rv1, 0);
    sum(unfused * Variable(gy)).backward();
    sum(fused * Variable(gy)).backward();
    check_close(x2.grad(), x1.grad(), 0);
    check_close(w2.grad(), w1.grad(), 0);
    check_close(b2.grad(), b1.grad(), 0);
  }
  // Without a graph (no grad, or no input wanting one) the temporary is clamped in place.
  NoGradGuard no_grad;
  Tensor rm = test::uniform({4}, -0.5f, 0.5f, 86), rv = test::uniform({4}, 0.5f, 2, 87);
  const Tensor x0 = test::uniform({2, 4, 3, 3}, -2, 2, 88);
  Variable plain = batch_norm(Variable(x0), &rm, &rv, Variable(), Variable(), false);
  Variable expected = relu(plain);
  check_close(relu(batch_norm(Variable(x0), &rm, &rv, Variable(), Variable(), false)).value(), expected.value(), 0);
  CHECK(std::count_if(plain.value().begin(), plain.value().end(), [](float v) { return v < 0; }) > 5);
}

TEST_CASE("fused batch_norm_relu gradients pass the finite-difference check") {
  Variable x(test::away_from_zero({2, 2, 3, 3}, 1, 2, 90), true);
  Variable w(test::uniform({2}, 0.5f, 1.0f, 91), true);
  Variable b(Tensor{0.0f, 0.0f}, true);
  auto fn = [](const std::vector<Variable>& v) {
    return relu(batch_norm(v[0], nullptr, nullptr, v[1], v[2], true));
  };
  CHECK(std::string(fn({x, w, b}).op_name()) == "batch_norm_relu");
  const GradcheckResult r = gradcheck(fn, {x, w, b}, {.eps = 1e-3, .atol = 2e-3, .rtol = 1e-2});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("batch_norm_relu gradients pass the finite-difference check") {
  // |x| in [1, 2] with random signs keeps every normalised value (training: batch statistics;
  // eval: running mean in [-0.5, 0.5]) well away from the ReLU's kink at 0.
  for (const bool training : {true, false}) {
    CAPTURE(training);
    Variable x(test::away_from_zero({2, 2, 3, 3}, 1, 2, 70), true);
    Variable w(test::uniform({2}, 0.5f, 1.0f, 71), true);
    Variable b(Tensor{0.0f, 0.0f}, true);
    const Tensor rm = test::uniform({2}, -0.5f, 0.5f, 72), rv = test::uniform({2}, 0.5f, 2, 73);
    auto fn = [training, rm, rv](const std::vector<Variable>& v) {
      Tensor m = rm, var = rv;
      return batch_norm_relu(v[0], training ? nullptr : &m, training ? nullptr : &var, v[1], v[2], training);
    };
    const GradcheckResult r = gradcheck(fn, {x, w, b}, {.eps = 1e-3, .atol = 2e-3, .rtol = 1e-2});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("batch_norm updates running statistics even when nothing records") {
  const Variable x(make({2, 1}, {0, 2}));
  Tensor rm = make({1}, {0}), rv = make({1}, {0});
  NoGradGuard guard;
  batch_norm(x, &rm, &rv, Variable(), Variable(), true, 0.5f);
  CHECK(rm(0) == doctest::Approx(0.5));
  CHECK(rv(0) == doctest::Approx(1.0));  // 0.5 * unbiased variance 2
}

TEST_CASE("batch_norm: bad input gives tg::Error naming the problem") {
  const Variable x(filled({4, 3, 2, 2}, 1.0f));
  Tensor rm = filled({3}, 0.0f), rv = filled({3}, 1.0f), wrong = filled({4}, 0.0f);
  CHECK_THROWS_WITH_AS(batch_norm(Variable(filled({3}, 1.0f)), nullptr, nullptr, Variable(), Variable(), true),
                       "batch_norm: expected input [N, C] or [N, C, H, W], got [3]", Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, nullptr, nullptr, Variable(filled({4}, 1.0f)), Variable(), true),
                       "batch_norm: expected weight [3], got [4]", Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, nullptr, nullptr, Variable(), Variable(filled({3, 1}, 1.0f)), true),
                       "batch_norm: expected bias [3], got [3, 1]", Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, &wrong, &rv, Variable(), Variable(), true),
                       "batch_norm: expected running_mean [3], got [4]", Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, &rm, nullptr, Variable(), Variable(), true),
                       doctest::Contains("expected both running_mean and running_var"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, nullptr, nullptr, Variable(), Variable(), false),
                       doctest::Contains("batch_norm: expected running_mean and running_var in eval mode"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(Variable(filled({1, 3}, 1.0f)), nullptr, nullptr, Variable(), Variable(), true),
                       "batch_norm: expected more than 1 value per channel when training, got input [1, 3]",
                       Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, &rm, &rv, Variable(), Variable(), true, 0.1f, 0.0f),
                       doctest::Contains("batch_norm: expected eps > 0"), Error);
}

// ---------------------------------------------------------------------------------- dropout

TEST_CASE("dropout is the identity in eval and for p = 0, zero for p = 1") {
  const Variable x(test::uniform({3, 4}, -1, 1, 1), true);
  check_close(dropout(x, 0.5f, false).value(), x.value(), 0, 0);
  check_close(dropout(x, 0.0f, true).value(), x.value(), 0, 0);
  Variable z = dropout(x, 1.0f, true);
  check_close(z.value(), filled({3, 4}, 0.0f), 0, 0);
  z.backward(filled({3, 4}, 1.0f));
  check_close(x.grad(), filled({3, 4}, 0.0f), 0, 0);
}

TEST_CASE("dropout zeroes a fraction p and scales the rest by 1 / (1 - p), reproducibly") {
  const Variable x(filled({100, 100}, 1.0f), true);
  manual_seed(3);
  Variable y = dropout(x, 0.3f, true);
  std::size_t zeros = 0;
  for (float v : y.value()) {
    CHECK((v == 0.0f || v == doctest::Approx(1 / 0.7)));
    zeros += v == 0.0f;
  }
  CHECK(double(zeros) / 10000 == doctest::Approx(0.3).epsilon(0.1));
  // The gradient goes through the kept elements with the same scale.
  y.backward(filled({100, 100}, 1.0f));
  check_close(x.grad(), y.value(), 0, 0);
  manual_seed(3);
  check_close(dropout(x, 0.3f, true).value(), y.value(), 0, 0);
}

TEST_CASE("dropout gradient passes the finite-difference check (fixed seed per call)") {
  auto fn = [](const std::vector<Variable>& v) {
    manual_seed(11);
    return dropout(v[0], 0.4f, true);
  };
  const GradcheckResult r = gradcheck(fn, {Variable(test::uniform({4, 5}, -1, 1, 2), true)}, {.eps = 1e-2});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("dropout: p outside [0, 1] gives tg::Error") {
  const Variable x(filled({2}, 1.0f));
  CHECK_THROWS_WITH_AS(dropout(x, -0.1f), doctest::Contains("dropout: expected probability p in [0, 1], got -0.1"),
                       Error);
  CHECK_THROWS_WITH_AS(dropout(x, 1.5f, false), doctest::Contains("dropout: expected probability p in [0, 1]"),
                       Error);
  CHECK_THROWS_AS(dropout(x, std::numeric_limits<float>::quiet_NaN()), Error);
}

}  // namespace
