#pragma once
/// @file
/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay
/// (torch.optim.SGD's rule exactly).
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/autograd/arg.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tg::optim {

/// torch.optim.SGD's options (lr defaults to 1e-3 as in PyTorch >= 2.2; 1.13 required it), in
/// either form: `{.lr = 0.01, .momentum = 0.9}` or LibTorch's `SGDOptions(0.01).momentum(0.9)`;
/// each field reads as a value and as LibTorch's getter (tapegrad/autograd/arg.hpp).
struct SGDOptions {
  /// Learning rate (LibTorch's positional argument).
  TG_ARG(SGDOptions, lr, double) = 1e-3;
  /// Momentum factor (0: none).
  TG_ARG(SGDOptions, momentum, double) = 0.0;
  /// Dampening of the momentum's new gradient.
  TG_ARG(SGDOptions, dampening, double) = 0.0;
  /// L2 penalty, added to the gradient.
  TG_ARG(SGDOptions, weight_decay, double) = 0.0;
  /// Nesterov momentum; needs momentum > 0 and dampening 0.
  TG_ARG(SGDOptions, nesterov, bool) = false;
  /// Ascend instead of descend.
  TG_ARG(SGDOptions, maximize, bool) = false;

  /// LibTorch's OptimizerOptions::get_lr().
  double get_lr() const { return lr; }
  /// LibTorch's OptimizerOptions::set_lr().
  void set_lr(double value) { lr = value; }
};

/// A group's overrides of SGDOptions (unset fields take the optimizer's defaults).
struct SGDGroupOptions {
  ///@{
  /// Unset: the optimizer's default for this field (see its options struct).
  std::optional<double> lr = {};
  std::optional<double> momentum = {};
  std::optional<double> dampening = {};
  std::optional<double> weight_decay = {};
  std::optional<bool> nesterov = {};
  std::optional<bool> maximize = {};
  ///@}
};

/// Throws tg::Error for negative lr, momentum or weight_decay, or Nesterov without momentum.
void check_options(const SGDOptions& options, const char* optimizer);
/// `defaults` with the fields `group` sets replaced.
SGDOptions merge_options(SGDOptions defaults, const SGDGroupOptions& group);
/// Visits lr, momentum, dampening, weight_decay, nesterov, maximize.
void for_each_option(SGDOptions& options, OptionVisitor& visitor);

/// g = grad (+ weight_decay * p); with momentum: buf = g on the first step, else
/// buf = momentum * buf + (1 - dampening) * g, and g = nesterov ? g + momentum * buf : buf;
/// then p -= lr * g. State: "momentum_buffer" (only with momentum).
class SGD : public BasicOptimizer<SGDOptions, SGDGroupOptions> {
 public:
  /// One group: SGD opt(model.parameters(), {.lr = 0.01, .momentum = 0.9}).
  SGD(std::vector<Variable> params, SGDOptions options = {});
  /// LibTorch's short form: SGD opt(model.parameters(), 0.01) (the learning rate alone).
  template <class Lr>
    requires std::is_arithmetic_v<Lr>
  SGD(std::vector<Variable> params, Lr lr)
      : SGD(std::move(params), SGDOptions{.lr = static_cast<double>(lr)}) {}
  /// Several groups: SGD opt({{backbone, {.lr = 1e-3}}, {head}}, {.lr = 0.01, .momentum = 0.9}).
  SGD(std::vector<Group> groups, SGDOptions defaults = {});
  /// Several groups, the defaults' learning rate alone.
  template <class Lr>
    requires std::is_arithmetic_v<Lr>
  SGD(std::vector<Group> groups, Lr lr)
      : SGD(std::move(groups), SGDOptions{.lr = static_cast<double>(lr)}) {}

  std::vector<std::string> buffer_names() const override { return {"momentum_buffer"}; }
  double momentum(std::size_t group) const override { return options(group).momentum; }
  void set_momentum(std::size_t group, double momentum) override {
    options(group).momentum = momentum;
  }

 protected:
  void update_param(const SGDOptions& o, Tensor& value, const Tensor& grad,
                    ParamState& state) override;
};

}  // namespace tg::optim
