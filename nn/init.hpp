#pragma once
/// @file
/// Parameter initialisation, torch.nn.init's functions and formulas. Each fills a Variable's value
/// in place (no graph is recorded) and returns it; random ones draw from `gen`, by default
/// tg::default_generator(), so tg::manual_seed makes models reproducible.
#include <cstdint>
#include <utility>

#include "tapegrad/autograd/random.hpp"
#include "tapegrad/autograd/variable.hpp"

/// Parameter initialisation (torch::nn::init): each function fills a Variable in place.
namespace tg::nn::init {

/// Which fan kaiming_* scales by: fan_in keeps the forward variance, fan_out the backward's.
enum class FanMode {
  fan_in,  ///< inputs per output: in * prod(kernel)
  fan_out  ///< outputs per input: out * prod(kernel)
};
/// The nonlinearity a gain is computed for.
enum class Nonlinearity { linear, conv2d, sigmoid, tanh, relu, leaky_relu, selu };

/// torch.nn.init.calculate_gain: 1 (linear, conv2d, sigmoid), 5/3 (tanh), sqrt(2) (relu),
/// sqrt(2 / (1 + param^2)) (leaky_relu, param = negative slope, default 0.01), 3/4 (selu).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);
/// (fan_in, fan_out) of a weight [out, in, k...]: fan_in = in * prod(k), fan_out = out * prod(k)
/// (for a conv weight [Cout, Cin/groups, kH, kW]: Cin/groups*kH*kW). Needs >= 2 dimensions.
std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Variable& tensor);

/// U(a, b).
Variable& uniform_(Variable& tensor, double a = 0.0, double b = 1.0,
                   Generator& gen = default_generator());
/// N(mean, std^2).
Variable& normal_(Variable& tensor, double mean = 0.0, double std = 1.0,
                  Generator& gen = default_generator());
/// Every element = value.
Variable& constant_(Variable& tensor, double value);
/// Every element = 0.
Variable& zeros_(Variable& tensor);
/// Every element = 1.
Variable& ones_(Variable& tensor);
/// U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)).
Variable& xavier_uniform_(Variable& tensor, double gain = 1.0,
                          Generator& gen = default_generator());
/// N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).
Variable& xavier_normal_(Variable& tensor, double gain = 1.0, Generator& gen = default_generator());
/// U(-bound, bound), bound = sqrt(3) * gain(nonlinearity, a) / sqrt(fan). PyTorch's default
/// for Linear and Conv2d is a = sqrt(5): bound = 1 / sqrt(fan_in).
Variable& kaiming_uniform_(Variable& tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                           Nonlinearity nonlinearity = Nonlinearity::leaky_relu,
                           Generator& gen = default_generator());
/// N(0, std^2), std = gain(nonlinearity, a) / sqrt(fan).
Variable& kaiming_normal_(Variable& tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                          Nonlinearity nonlinearity = Nonlinearity::leaky_relu,
                          Generator& gen = default_generator());

}  // namespace tg::nn::init
