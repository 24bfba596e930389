// Initialisation: PyTorch's default bounds for Linear/Conv2d/BatchNorm, the init:: formulas,
// and reproducibility with manual_seed.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include <tapegrad/nn/nn.hpp>

namespace {

using tg::Shape;
using tg::Tensor;
using tg::Variable;
namespace nn = tg::nn;
namespace init = tg::nn::init;

struct Stats {
  double mean = 0, var = 0, min = 1e30, max = -1e30;
};

Stats stats_of(const Tensor& t) {
  Stats s;
  for (float v : t)
    s.mean += v, s.min = std::min<double>(s.min, v), s.max = std::max<double>(s.max, v);
  s.mean /= static_cast<double>(t.size());
  for (float v : t) s.var += (v - s.mean) * (v - s.mean);
  s.var /= static_cast<double>(t.size());
  return s;
}

// U(-b, b) on many samples: inside the bounds, reaching near them, variance b^2 / 3.
void check_uniform(const Tensor& t, double bound) {
  Stats s = stats_of(t);
  CHECK(s.min >= -bound);
  CHECK(s.max <= bound);
  CHECK(s.min < -0.95 * bound);
  CHECK(s.max > 0.95 * bound);
  CHECK(s.mean == doctest::Approx(0.0).epsilon(0.05 * bound).scale(1));
  CHECK(s.var == doctest::Approx(bound * bound / 3).epsilon(0.05));
}

}  // namespace

TEST_CASE(
    "Linear and Conv2d default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias") {
  tg::manual_seed(10);
  nn::Linear fc(250, 400);
  check_uniform(fc->weight.value(), 1 / std::sqrt(250.0));
  Stats b = stats_of(fc->bias.value());
  CHECK(b.min >= -1 / std::sqrt(250.0));
  CHECK(b.max <= 1 / std::sqrt(250.0));

  nn::Conv2d conv(16, 64, 3);  // fan_in 16 * 9 = 144
  check_uniform(conv->weight.value(), 1 / 12.0);
  CHECK(stats_of(conv->bias.value()).max <= 1 / 12.0);
  nn::Conv2d grouped(16, 64, 3, {.groups = 4});  // fan_in = 16 / 4 * 9 = 36
  check_uniform(grouped->weight.value(), 1 / 6.0);
}

TEST_CASE("BatchNorm init: weight 1, bias 0, running_mean 0, running_var 1") {
  nn::BatchNorm2d bn(8);
  CHECK(bn->weight.value() == tg::ones(Shape{8}).value());
  CHECK(bn->bias.value() == tg::zeros(Shape{8}).value());
  CHECK(bn->running_mean.value() == tg::zeros(Shape{8}).value());
  CHECK(bn->running_var.value() == tg::ones(Shape{8}).value());
  CHECK(bn->num_batches_tracked.value()() == 0.0f);
}

TEST_CASE("manual_seed makes models reproducible") {
  tg::manual_seed(7);
  nn::Sequential a(nn::Conv2d(3, 4, 3), nn::Linear(5, 6));
  tg::manual_seed(7);
  nn::Sequential b(nn::Conv2d(3, 4, 3), nn::Linear(5, 6));
  nn::Sequential c(nn::Conv2d(3, 4, 3), nn::Linear(5, 6));
  auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CHECK(pa[i].value() == pb[i].value());
    CHECK(pa[i].value() != pc[i].value());
  }
}

TEST_CASE("calculate_gain and fans follow PyTorch") {
  CHECK(init::calculate_gain(init::Nonlinearity::linear) == 1.0);
  CHECK(init::calculate_gain(init::Nonlinearity::sigmoid) == 1.0);
  CHECK(init::calculate_gain(init::Nonlinearity::tanh) == doctest::Approx(5.0 / 3));
  CHECK(init::calculate_gain(init::Nonlinearity::relu) == doctest::Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain(init::Nonlinearity::leaky_relu) ==
        doctest::Approx(std::sqrt(2 / 1.0001)));
  CHECK(init::calculate_gain(init::Nonlinearity::leaky_relu, std::sqrt(5.0)) ==
        doctest::Approx(std::sqrt(1 / 3.0)));
  CHECK(init::calculate_gain(init::Nonlinearity::selu) == 0.75);
  Variable w(tg::empty_tensor(Shape{64, 8, 3, 5}));
  CHECK(init::calculate_fan_in_and_fan_out(w) == std::pair<std::int64_t, std::int64_t>{120, 960});
  Variable v(tg::empty_tensor(Shape{7}));
  CHECK_THROWS_WITH_AS(init::kaiming_uniform_(v),
                       doctest::Contains("at least 2 dimensions, got [7]"), tg::Error);
}

TEST_CASE("kaiming and xavier initialisers: bounds and standard deviations") {
  tg::manual_seed(11);
  Variable w(tg::empty_tensor(Shape{200, 100, 3, 3}));  // fan_in 900, fan_out 1800
  init::kaiming_uniform_(w, 0, init::FanMode::fan_in, init::Nonlinearity::relu);
  check_uniform(w.value(), std::sqrt(3.0) * std::sqrt(2.0) / 30);
  init::kaiming_uniform_(w, 0, init::FanMode::fan_out, init::Nonlinearity::relu);
  check_uniform(w.value(), std::sqrt(6.0 / 1800));
  init::kaiming_normal_(w, 0, init::FanMode::fan_out, init::Nonlinearity::relu);
  Stats s = stats_of(w.value());
  CHECK(std::sqrt(s.var) == doctest::Approx(std::sqrt(2.0 / 1800)).epsilon(0.02));
  CHECK(s.mean == doctest::Approx(0.0).scale(1).epsilon(0.002));
  init::xavier_uniform_(w, 2.0);
  check_uniform(w.value(), 2.0 * std::sqrt(6.0 / 2700));
  init::xavier_normal_(w);
  CHECK(std::sqrt(stats_of(w.value()).var) == doctest::Approx(std::sqrt(2.0 / 2700)).epsilon(0.02));
  init::normal_(w, 3.0, 0.5);
  s = stats_of(w.value());
  CHECK(s.mean == doctest::Approx(3.0).epsilon(0.01));
  CHECK(std::sqrt(s.var) == doctest::Approx(0.5).epsilon(0.02));
  init::uniform_(w, 1.0, 2.0);
  s = stats_of(w.value());
  CHECK(s.min >= 1.0);
  CHECK(s.max <= 2.0);
  init::constant_(w, 0.25);
  CHECK(stats_of(w.value()).min == 0.25);
  init::zeros_(w);
  CHECK(stats_of(w.value()).max == 0.0);
  init::ones_(w);
  CHECK(stats_of(w.value()).min == 1.0);
}

TEST_CASE("init draws from a given generator when one is passed") {
  Variable a(tg::empty_tensor(Shape{10, 10})), b(tg::empty_tensor(Shape{10, 10}));
  tg::Generator g1(99), g2(99);
  init::kaiming_normal_(a, 0, init::FanMode::fan_in, init::Nonlinearity::relu, g1);
  init::kaiming_normal_(b, 0, init::FanMode::fan_in, init::Nonlinearity::relu, g2);
  CHECK(a.value() == b.value());
}
