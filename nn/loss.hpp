#pragma once
/// @file
/// Loss modules (torch.nn.CrossEntropyLoss, NLLLoss, MSELoss, BCEWithLogitsLoss): the functional
/// losses of autograd/loss.hpp with their options kept, so a script reads like PyTorch's:
/// `tg::nn::CrossEntropyLoss criterion({.label_smoothing = 0.1}); loss = criterion(out, labels);`
#include "tapegrad/autograd/loss.hpp"
#include "tapegrad/nn/module.hpp"

namespace tg::nn {

/// cross_entropy(logits [N, C], labels [N], options).
class CrossEntropyLoss : public Module {
 public:
  /// With these options (reduction, label smoothing, finite check).
  explicit CrossEntropyLoss(CrossEntropyOptions options = {}) : options(options) {}
  /// The loss of logits [N, C] against labels [N] in [0, C); mismatches throw tg::Error.
  Variable forward(const Variable& logits, const Labels& labels) const {
    return cross_entropy(logits, labels, options);
  }
  /// forward(...).
  Variable operator()(const Variable& logits, const Labels& labels) const {
    return forward(logits, labels);
  }
  std::string name() const override { return "CrossEntropyLoss"; }
  CrossEntropyOptions options;  ///< as constructed
};

/// nll_loss(log_probs [N, C], labels [N], reduction).
class NLLLoss : public Module {
 public:
  /// Mean over all elements by default (Sum, or None for one loss per element).
  explicit NLLLoss(Reduction reduction = Reduction::Mean) : reduction(reduction) {}
  /// With class weights and ignore_index: `NLLLoss({.weight = w, .ignore_index = 0})`.
  explicit NLLLoss(NLLLossOptions options) : reduction(options.reduction), options(options) {}
  /// The loss of log-probabilities [N, C] against labels [N] in [0, C).
  Variable forward(const Variable& log_probs, const Labels& labels) const {
    NLLLossOptions o = options;
    o.reduction = reduction;
    return nll_loss(log_probs, labels, o);
  }
  /// forward(...).
  Variable operator()(const Variable& log_probs, const Labels& labels) const {
    return forward(log_probs, labels);
  }
  std::string name() const override { return "NLLLoss"; }
  Reduction reduction;  ///< as constructed
  /// weight and ignore_index (its reduction is the member above).
  NLLLossOptions options;
};

/// mse_loss(input, target, reduction).
class MSELoss : public Module {
 public:
  /// Mean over all elements by default (Sum, or None for one loss per element).
  explicit MSELoss(Reduction reduction = Reduction::Mean) : reduction(reduction) {}
  /// The loss of input against target of the same shape.
  Variable forward(const Variable& input, const Variable& target) const {
    return mse_loss(input, target, reduction);
  }
  /// forward(...).
  Variable operator()(const Variable& input, const Variable& target) const {
    return forward(input, target);
  }
  std::string name() const override { return "MSELoss"; }
  Reduction reduction;  ///< as constructed
};

/// binary_cross_entropy_with_logits(logits, target, reduction).
class BCEWithLogitsLoss : public Module {
 public:
  /// Mean over all elements by default (Sum, or None for one loss per element).
  explicit BCEWithLogitsLoss(Reduction reduction = Reduction::Mean) : reduction(reduction) {}
  /// The loss of logits against targets in [0, 1] of the same shape.
  Variable forward(const Variable& logits, const Variable& target) const {
    return binary_cross_entropy_with_logits(logits, target, reduction);
  }
  /// forward(...).
  Variable operator()(const Variable& logits, const Variable& target) const {
    return forward(logits, target);
  }
  std::string name() const override { return "BCEWithLogitsLoss"; }
  Reduction reduction;  ///< as constructed
};

/// binary_cross_entropy(input, target, options): probabilities in [0, 1] (after a Sigmoid), as
/// LibTorch's nn::BCELoss; `BCELoss criterion({.weight = w});`.
class BCELoss : public Module {
 public:
  /// Keeps the options for every call.
  explicit BCELoss(BCELossOptions options = {}) : options(options) {}
  /// The loss of input against target (one shape); see tg::binary_cross_entropy.
  Variable forward(const Variable& input, const Variable& target) const {
    return binary_cross_entropy(input, target, options);
  }
  /// forward(input, target).
  Variable operator()(const Variable& input, const Variable& target) const {
    return forward(input, target);
  }
  /// "BCELoss".
  std::string name() const override { return "BCELoss"; }
  BCELossOptions options;  ///< weight and reduction
};

/// smooth_l1_loss(input, target, options), as LibTorch's nn::SmoothL1Loss: `{.beta = 0.5}`.
class SmoothL1Loss : public Module {
 public:
  /// Keeps the options for every call.
  explicit SmoothL1Loss(SmoothL1LossOptions options = {}) : options(options) {}
  /// The loss of input against target (one shape); see tg::smooth_l1_loss.
  Variable forward(const Variable& input, const Variable& target) const {
    return smooth_l1_loss(input, target, options);
  }
  /// forward(input, target).
  Variable operator()(const Variable& input, const Variable& target) const {
    return forward(input, target);
  }
  /// "SmoothL1Loss".
  std::string name() const override { return "SmoothL1Loss"; }
  SmoothL1LossOptions options;  ///< reduction and beta
};

/// huber_loss(input, target, options), as LibTorch's nn::HuberLoss: `{.delta = 2.0}`.
class HuberLoss : public Module {
 public:
  /// Keeps the options for every call.
  explicit HuberLoss(HuberLossOptions options = {}) : options(options) {}
  /// The loss of input against target (one shape); see tg::huber_loss.
  Variable forward(const Variable& input, const Variable& target) const {
    return huber_loss(input, target, options);
  }
  /// forward(input, target).
  Variable operator()(const Variable& input, const Variable& target) const {
    return forward(input, target);
  }
  /// "HuberLoss".
  std::string name() const override { return "HuberLoss"; }
  HuberLossOptions options;  ///< reduction and delta
};

}  // namespace tg::nn
