#pragma once
/// @file
/// RMSprop, plain or centered, with momentum and weight decay (torch.optim.RMSprop's rule).
#include <optional>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tg::optim {

/// torch.optim.RMSprop's options.
struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;         ///< decay of the running average of squared gradients
  double eps = 1e-8;           ///< added to the denominator after sqrt
  double weight_decay = 0.0;   ///< L2 penalty, added to the gradient
  double momentum = 0.0;
  bool centered = false;       ///< divide by an estimate of the variance instead
  bool maximize = false;
};

/// A group's overrides of RMSpropOptions.
struct RMSpropGroupOptions {
  std::optional<double> lr = {};
  std::optional<double> alpha = {};
  std::optional<double> eps = {};
  std::optional<double> weight_decay = {};
  std::optional<double> momentum = {};
  std::optional<bool> centered = {};
  std::optional<bool> maximize = {};
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
