#pragma once
/// @file
/// Adam (L2 penalty added to the gradient) and AdamW (decoupled weight decay), with AMSGrad:
/// torch.optim.Adam's and torch.optim.AdamW's rules exactly.
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/autograd/arg.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tg::optim {

/// torch.optim.Adam's options, in either form: `{.lr = 2e-4, .betas = {0.5, 0.999}}` or
/// LibTorch's `AdamOptions(2e-4).betas({0.5, 0.999})`; each field reads as a value and as
/// LibTorch's getter (tapegrad/autograd/arg.hpp).
struct AdamOptions {
  /// Learning rate (LibTorch's positional argument).
  TG_ARG(AdamOptions, lr, double) = 1e-3;
  /// Decay of the first and second moments; LibTorch's std::tuple of two is accepted too
  /// (`.betas(std::make_tuple(0.5, 0.999))`), and a braced pair (`.betas({0.5, 0.999})`).
  TG_ARG(AdamOptions, betas, std::pair<double, double>) = {0.9, 0.999};
  /// Added to the denominator after the square root.
  TG_ARG(AdamOptions, eps, double) = 1e-8;
  /// L2 penalty, added to the gradient.
  TG_ARG(AdamOptions, weight_decay, double) = 0.0;
  /// Divide by the running maximum of exp_avg_sq.
  TG_ARG(AdamOptions, amsgrad, bool) = false;
  /// Ascend instead of descend.
  TG_ARG(AdamOptions, maximize, bool) = false;

  /// LibTorch's OptimizerOptions::get_lr().
  double get_lr() const { return lr; }
  /// LibTorch's OptimizerOptions::set_lr().
  void set_lr(double value) { lr = value; }
};

/// torch.optim.AdamW's options (the same fields and forms; weight_decay defaults to 1e-2 and is
/// decoupled).
struct AdamWOptions {
  /// Learning rate (LibTorch's positional argument).
  TG_ARG(AdamWOptions, lr, double) = 1e-3;
  /// Decay of the first and second moments; LibTorch's std::tuple of two is accepted too
  /// (`.betas(std::make_tuple(0.5, 0.999))`), and a braced pair (`.betas({0.5, 0.999})`).
  TG_ARG(AdamWOptions, betas, std::pair<double, double>) = {0.9, 0.999};
  /// Added to the denominator after the square root.
  TG_ARG(AdamWOptions, eps, double) = 1e-8;
  /// Decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step.
  TG_ARG(AdamWOptions, weight_decay, double) = 1e-2;
  /// Divide by the running maximum of exp_avg_sq.
  TG_ARG(AdamWOptions, amsgrad, bool) = false;
  /// Ascend instead of descend.
  TG_ARG(AdamWOptions, maximize, bool) = false;

  /// LibTorch's OptimizerOptions::get_lr().
  double get_lr() const { return lr; }
  /// LibTorch's OptimizerOptions::set_lr().
  void set_lr(double value) { lr = value; }
};

/// A group's overrides of AdamOptions or AdamWOptions.
struct AdamGroupOptions {
  ///@{
  /// Unset: the optimizer's default for this field (see its options struct).
  std::optional<double> lr = {};
  std::optional<std::pair<double, double>> betas = {};
  std::optional<double> eps = {};
  std::optional<double> weight_decay = {};
  std::optional<bool> amsgrad = {};
  std::optional<bool> maximize = {};
  ///@}
};

///@{
/// Throws tg::Error for lr, eps or weight_decay < 0, or betas outside [0, 1).
void check_options(const AdamOptions& options, const char* optimizer);
void check_options(const AdamWOptions& options, const char* optimizer);
///@}
///@{
/// `defaults` with the fields `group` sets replaced.
AdamOptions merge_options(AdamOptions defaults, const AdamGroupOptions& group);
AdamWOptions merge_options(AdamWOptions defaults, const AdamGroupOptions& group);
///@}
///@{
/// Visits lr, beta1, beta2, eps, weight_decay, amsgrad, maximize.
void for_each_option(AdamOptions& options, OptionVisitor& visitor);
void for_each_option(AdamWOptions& options, OptionVisitor& visitor);
///@}

/// At step t: g = grad (+ weight_decay * p); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), with v replaced by its
/// running max under amsgrad. State: "exp_avg", "exp_avg_sq", "max_exp_avg_sq" (amsgrad).
class Adam : public BasicOptimizer<AdamOptions, AdamGroupOptions> {
 public:
  /// One group: `Adam opt(model.parameters(), {.lr = 1e-3})`; bad options throw tg::Error.
  Adam(std::vector<Variable> params, AdamOptions options = {});
  /// Several groups, each overriding `defaults` where it sets a field.
  Adam(std::vector<Group> groups, AdamOptions defaults = {});
  /// LibTorch's short form: Adam opt(model.parameters(), 1e-3) (the learning rate alone).
  template <class Lr>
    requires std::is_arithmetic_v<Lr>
  Adam(std::vector<Variable> params, Lr lr)
      : Adam(std::move(params), AdamOptions{.lr = static_cast<double>(lr)}) {}
  /// Several groups, the defaults' learning rate alone.
  template <class Lr>
    requires std::is_arithmetic_v<Lr>
  Adam(std::vector<Group> groups, Lr lr)
      : Adam(std::move(groups), AdamOptions{.lr = static_cast<double>(lr)}) {}

  std::vector<std::string> buffer_names() const override;
  /// beta1 (what OneCycleLR cycles).
  double momentum(std::size_t group) const override { return options(group).betas.first; }
  void set_momentum(std::size_t group, double beta1) override { options(group).betas.first = beta1; }

 protected:
  void update_param(const AdamOptions& o, Tensor& value, const Tensor& grad,
                    ParamState& state) override;
};

/// Adam with decoupled weight decay: p *= 1 - lr * weight_decay, then the Adam step on the
/// plain gradient. Same state as Adam.
class AdamW : public BasicOptimizer<AdamWOptions, AdamGroupOptions> {
 public:
  /// One group: `AdamW opt(model.parameters(), {.lr = 1e-3})`; bad options throw tg::Error.
  AdamW(std::vector<Variable> params, AdamWOptions options = {});
  /// Several groups, each overriding `defaults` where it sets a field.
  AdamW(std::vector<Group> groups, AdamWOptions defaults = {});
  /// LibTorch's short form: AdamW opt(model.parameters(), 1e-3) (the learning rate alone).
  template <class Lr>
    requires std::is_arithmetic_v<Lr>
  AdamW(std::vector<Variable> params, Lr lr)
      : AdamW(std::move(params), AdamWOptions{.lr = static_cast<double>(lr)}) {}
  /// Several groups, the defaults' learning rate alone.
  template <class Lr>
    requires std::is_arithmetic_v<Lr>
  AdamW(std::vector<Group> groups, Lr lr)
      : AdamW(std::move(groups), AdamWOptions{.lr = static_cast<double>(lr)}) {}

  std::vector<std::string> buffer_names() const override;
  double momentum(std::size_t group) const override { return options(group).betas.first; }
  void set_momentum(std::size_t group, double beta1) override { options(group).betas.first = beta1; }

 protected:
  void update_param(const AdamWOptions& o, Tensor& value, const Tensor& grad,
                    ParamState& state) override;
};

}  // namespace tg::optim
