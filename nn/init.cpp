#include "tapegrad/nn/init.hpp"

#include <cmath>

#include "tapegrad/autograd/error.hpp"

namespace tg::nn::init {

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::linear:
    case Nonlinearity::conv2d:
    case Nonlinearity::sigmoid:
      return 1.0;
    case Nonlinearity::tanh:
      return 5.0 / 3.0;
    case Nonlinearity::relu:
      return std::sqrt(2.0);
    case Nonlinearity::leaky_relu:
      return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::selu:
      return 3.0 / 4.0;
  }
  TG_ASSERT(false, "unknown nonlinearity");
}

std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Variable& tensor) {
  const Shape& s = tensor.shape();
  TG_CHECK(s.size() >= 2,
           "calculate_fan_in_and_fan_out: expected a tensor of at least 2 "
           "dimensions, got ",
           shape_str(s));
  std::int64_t receptive = 1;
  for (std::size_t i = 2; i < s.size(); ++i) receptive *= static_cast<std::int64_t>(s[i]);
  return {static_cast<std::int64_t>(s[1]) * receptive, static_cast<std::int64_t>(s[0]) * receptive};
}

namespace {

std::int64_t fan(const Variable& tensor, FanMode mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  return mode == FanMode::fan_in ? fan_in : fan_out;
}

void check_defined(const Variable& tensor, const char* op) {
  TG_CHECK(tensor.defined(), op, ": expected a defined Variable, got an undefined one");
}

}  // namespace

Variable& uniform_(Variable& tensor, double a, double b, Generator& gen) {
  check_defined(tensor, "uniform_");
  TG_CHECK(a <= b, "uniform_: expected a <= b, got a = ", a, ", b = ", b);
  Tensor& t = tensor.value();
  float* data = t.data();
  const auto lo = static_cast<float>(a), hi = static_cast<float>(b);
  for (std::size_t i = 0; i < t.size(); ++i) data[i] = gen.uniform(lo, hi);
  return tensor;
}

Variable& normal_(Variable& tensor, double mean, double std, Generator& gen) {
  check_defined(tensor, "normal_");
  TG_CHECK(std >= 0, "normal_: expected std >= 0, got ", std);
  Tensor& t = tensor.value();
  float* data = t.data();
  for (std::size_t i = 0; i < t.size(); ++i)
    data[i] = static_cast<float>(mean + std * static_cast<double>(gen.normal()));
  return tensor;
}

Variable& constant_(Variable& tensor, double value) {
  check_defined(tensor, "constant_");
  Tensor& t = tensor.value();
  float* data = t.data();
  for (std::size_t i = 0; i < t.size(); ++i) data[i] = static_cast<float>(value);
  return tensor;
}

Variable& zeros_(Variable& tensor) { return constant_(tensor, 0.0); }
Variable& ones_(Variable& tensor) { return constant_(tensor, 1.0); }

Variable& xavier_uniform_(Variable& tensor, double gain, Generator& gen) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  TG_CHECK(fan_in + fan_out > 0, "xavier_uniform_: expected a non-empty weight, got ",
           shape_str(tensor.shape()));
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(tensor, -bound, bound, gen);
}

Variable& xavier_normal_(Variable& tensor, double gain, Generator& gen) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  TG_CHECK(fan_in + fan_out > 0, "xavier_normal_: expected a non-empty weight, got ",
           shape_str(tensor.shape()));
  return normal_(tensor, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), gen);
}

Variable& kaiming_uniform_(Variable& tensor, double a, FanMode mode, Nonlinearity nonlinearity,
                           Generator& gen) {
  const std::int64_t n = fan(tensor, mode);
  TG_CHECK(n > 0, "kaiming_uniform_: expected a non-empty weight, got ", shape_str(tensor.shape()));
  const double bound =
      std::sqrt(3.0) * calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(n));
  return uniform_(tensor, -bound, bound, gen);
}

Variable& kaiming_normal_(Variable& tensor, double a, FanMode mode, Nonlinearity nonlinearity,
                          Generator& gen) {
  const std::int64_t n = fan(tensor, mode);
  TG_CHECK(n > 0, "kaiming_normal_: expected a non-empty weight, got ", shape_str(tensor.shape()));
  return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(n)),
                 gen);
}

}  // namespace tg::nn::init
