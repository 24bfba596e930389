#pragma once
/// @file
/// RMSprop, plain or centered, with momentum and weight decay (torch.optim.RMSprop's rule).
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/autograd/arg.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tg::optim {

/// torch.optim.RMSprop's options, in either form: `{.lr = 1e-3, .alpha = 0.9}` or LibTorch's
/// `RMSpropOptions(1e-3).alpha(0.9)`; each field reads as a value and as LibTorch's getter
/// (tapegrad/autograd/arg.hpp).
struct RMSpropOptions {
  /// Learning rate (LibTorch's positional argument).
  TG_ARG(RMSpropOptions, lr, double) = 1e-2;
  /// Decay of the running average of squared gradients.
  TG_ARG(RMSpropOptions, alpha, double) = 0.99;
  /// Added to the denominator after the square root.
  TG_ARG(RMSpropOptions, eps, double) = 1e-8;
  /// L2 penalty, added to the gradient.
  TG_ARG(RMSpropOptions, weight_decay, double) = 0.0;
  /// Momentum factor (0: none).
  TG_ARG(RMSpropOptions, momentum, double) = 0.0;
  /// Divide by an estimate of the variance instead.
  TG_ARG(RMSpropOptions, centered, bool) = false;
  /// Ascend instead of descend.
  TG_ARG(RMSpropOptions, maximize, bool) = false;

  /// LibTorch's OptimizerOptions::get_lr().
  double get_lr() const { return lr; }
  /// LibTorch's OptimizerOptions::set_lr().
  void set_lr(double value) { lr = value; }
};

/// A group's overrides of RMSpropOptions.
struct RMSpropGroupOptions {
  ///@{
  /// Unset: the optimizer's default for this field (see its options struct).
  std::optional<double> lr = {};
  std::optional<double> alpha = {};
  std::optional<double> eps = {};
  std::optional<double> weight_decay = {};
  std::optional<double> momentum = {};
  std::optional<bool> centered = {};
  std::optional<bool> maximize = {};
  ///@}
};

/// Throws tg::Error for negative lr, alpha, eps, weight_decay or momentum.
void check_options(const RMSpropOptions& options, const char* optimizer);
/// `defaults` with the fields `group` sets replaced.
RMSpropOptions merge_options(RMSpropOptions defaults, const RMSpropGroupOptions& group);
/// Visits lr, alpha, eps, weight_decay, momentum, centered, maximize.
void for_each_option(RMSpropOptions& options, OptionVisitor& visitor);

/// g = grad (+ weight_decay * p); v = alpha v + (1 - alpha) g^2; centered: a = alpha a +
/// (1 - alpha) g and d = sqrt(v - a^2) + eps, else d = sqrt(v) + eps; with momentum:
/// buf = momentum buf + g / d, p -= lr buf; else p -= lr g / d.
/// State: "square_avg", "momentum_buffer" (momentum > 0), "grad_avg" (centered).
class RMSprop : public BasicOptimizer<RMSpropOptions, RMSpropGroupOptions> {
 public:
  /// One group: `RMSprop opt(model.parameters(), {.lr = 1e-2})`; bad options throw tg::Error.
  RMSprop(std::vector<Variable> params, RMSpropOptions options = {});
  /// Several groups, each overriding `defaults` where it sets a field.
  RMSprop(std::vector<Group> groups, RMSpropOptions defaults = {});
  /// LibTorch's short form: RMSprop opt(model.parameters(), 1e-3) (the learning rate alone).
  template <class Lr>
    requires std::is_arithmetic_v<Lr>
  RMSprop(std::vector<Variable> params, Lr lr)
      : RMSprop(std::move(params), RMSpropOptions{.lr = static_cast<double>(lr)}) {}
  /// Several groups, the defaults' learning rate alone.
  template <class Lr>
    requires std::is_arithmetic_v<Lr>
  RMSprop(std::vector<Group> groups, Lr lr)
      : RMSprop(std::move(groups), RMSpropOptions{.lr = static_cast<double>(lr)}) {}

  std::vector<std::string> buffer_names() const override;
  double momentum(std::size_t group) const override { return options(group).momentum; }
  void set_momentum(std::size_t group, double momentum) override {
    options(group).momentum = momentum;
  }

 protected:
  void update_param(const RMSpropOptions& o, Tensor& value, const Tensor& grad,
                    ParamState& state) override;
};

}  // namespace tg::optim
