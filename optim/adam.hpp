#pragma once
/// @file
/// Adam (L2 penalty added to the gradient) and AdamW (decoupled weight decay), with AMSGrad:
/// torch.optim.Adam's and torch.optim.AdamW's rules exactly.
#include <optional>
#include <utility>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tg::optim {

/// torch.optim.Adam's options.
struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};  ///< decay of the first and second moments
  double eps = 1e-8;                               ///< added to the denominator after sqrt
  double weight_decay = 0.0;                       ///< L2 penalty, added to the gradient
  bool amsgrad = false;                            ///< divide by the running max of exp_avg_sq
  bool maximize = false;
};

/// torch.optim.AdamW's options (the same fields; weight_decay defaults to 1e-2 and is decoupled).
struct AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;  ///< p *= 1 - lr * weight_decay before the Adam step
  bool amsgrad = false;
  bool maximize = false;
};

/// A group's overrides of AdamOptions or AdamWOptions.
struct AdamGroupOptions {
  std::optional<double> lr = {};
  std::optional<std::pair<double, double>> betas = {};
  std::optional<double> eps = {};
  std::optional<double> weight_decay = {};
  std::optional<bool> amsgrad = {};
  std::optional<bool> maximize = {};
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

  std::vector<std::string> buffer_names() const override;
  double momentum(std::size_t group) const override { return options(group).betas.first; }
  void set_momentum(std::size_t group, double beta1) override { options(group).betas.first = beta1; }

 protected:
  void update_param(const AdamWOptions& o, Tensor& value, const Tensor& grad,
                    ParamState& state) override;
};

}  // namespace tg::optim
