#pragma once
/// @file
/// Softmax and the losses, fused where that is faster and stabler.
#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// None: one loss per sample (element); Mean, Sum: a 0-d tensor (Mean of nothing is an error).
enum class Reduction {
  None,  ///< the per-sample losses, shape [N] (or the input's shape, elementwise losses)
  Mean,  ///< their mean, a 0-d tensor
  Sum    ///< their sum, a 0-d tensor
};

/// cross_entropy's options, PyTorch's names and defaults.
struct CrossEntropyOptions {
  Reduction reduction = Reduction::Mean;  ///< Mean over the batch, Sum, or None (one per sample)
  float label_smoothing = 0.0f;           ///< ls in [0, 1]: weight of the uniform distribution
  bool check_finite = false;  ///< throw on NaN/inf logits instead of returning NaN
  /// Class weights [C] (LibTorch's `weight`), or undefined for 1 each. With class labels:
  /// loss_i = w[y_i] * nll_i, and mean divides by the sum of w[y_i] over the counted rows, as
  /// PyTorch does. With probability targets: loss_i = -sum_k w_k * t'_ik * log p_ik, mean
  /// dividing by N. Not differentiated.
  Variable weight{};
  /// Rows whose label equals this contribute nothing and are not counted by mean (PyTorch's
  /// ignore_index; its default -100 never matches a valid label). Probability targets take
  /// none (a value >= 0 is an error there, as in PyTorch).
  std::int64_t ignore_index = -100;
};

/// softmax along `dim` (stable: subtracts the max).
Variable softmax(const Variable& x, std::int64_t dim = -1);
/// log softmax along `dim`, stable for logits of +-1000.
Variable log_softmax(const Variable& x, std::int64_t dim = -1);
/// torch cross_entropy: logits [N, C], labels [N] in [0, C); fused with log_softmax. With label
/// smoothing ls: (1-ls)*nll + ls*mean over classes of -log p; gradient softmax - target.
/// With options.weight or a label equal to options.ignore_index, PyTorch's weighted form:
/// nll_i = -w[y_i]*log p_i[y_i], the smoothing term -sum_k w_k*log p_i[k] / C, ignored rows 0;
/// mean divides the nll term by the counted rows' total weight and the smoothing term by it
/// too with weights, by the number of counted rows without (PyTorch 1.13). Throws tg::Error
/// for mean over a total weight of 0.
Variable cross_entropy(const Variable& logits, const Labels& labels,
                       CrossEntropyOptions options = {});
/// torch cross_entropy with class probabilities: target [N, C] of floats (soft labels from
/// MixUp/CutMix, or a distillation teacher's softmax); loss_i = -sum_c t'_ic * log_softmax(x)_ic
/// with t' = (1-ls)*t + ls/C. Mean divides by N. Differentiable in both arguments.
Variable cross_entropy(const Variable& logits, const Variable& target_probs,
                       CrossEntropyOptions options = {});
/// torch nll_loss: log-probabilities [N, C], labels [N].
Variable nll_loss(const Variable& log_probs, const Labels& labels,
                  Reduction reduction = Reduction::Mean);

/// LibTorch's NLLLossOptions as an aggregate: `nll_loss(lp, y, {.weight = w, .ignore_index = 0})`.
struct NLLLossOptions {
  /// Class weights [C], or undefined for 1 each; not differentiated.
  Variable weight{};
  /// A label to skip: such rows give 0 and are not counted by mean.
  std::int64_t ignore_index = -100;
  /// Mean divides by the sum of the counted rows' class weights (their number without weights).
  Reduction reduction = Reduction::Mean;
};
/// LibTorch's name for the functional form's options.
using NLLLossFuncOptions = NLLLossOptions;

/// torch nll_loss with class weights and ignore_index: log_probs [N, C], labels [N] in [0, C) or
/// equal to ignore_index; loss_i = -weight[y_i] * log_probs[i, y_i]. Throws tg::Error for
/// labels out of range, a weight that is not [C], or mean over rows of total weight 0.
Variable nll_loss(const Variable& log_probs, const Labels& labels, NLLLossOptions options);

/// LibTorch's BCELossOptions as an aggregate: `{.weight = w, .reduction = tg::Reduction::Sum}`.
struct BCELossOptions {
  /// Per-element rescaling of the input's shape or of a trailing part of it ([C] for [N, C]),
  /// or a single value; undefined for 1. Not differentiated.
  Variable weight{};
  Reduction reduction = Reduction::Mean;  ///< mean over all elements, sum, or none
};
/// LibTorch's name for the functional form's options.
using BinaryCrossEntropyFuncOptions = BCELossOptions;

/// torch binary_cross_entropy on probabilities: -w*(t*log(x) + (1-t)*log(1-x)) with each log
/// clamped at -100 as PyTorch does (x = 0 or 1 gives a finite loss). input and target of one
/// shape, input in [0, 1]; differentiable in both (d/dx = w*(x-t)/max(x*(1-x), 1e-12), d/dt =
/// -w*logit(x)). Throws tg::Error for an input outside [0, 1] or mismatched shapes.
Variable binary_cross_entropy(const Variable& input, const Variable& target,
                              BCELossOptions options = {});

/// LibTorch's SmoothL1LossOptions as an aggregate: `{.beta = 0.5}`.
struct SmoothL1LossOptions {
  Reduction reduction = Reduction::Mean;  ///< mean over all elements, sum, or none
  double beta = 1.0;                      ///< where the quadratic turns linear, >= 0
};
/// LibTorch's name for the functional form's options.
using SmoothL1LossFuncOptions = SmoothL1LossOptions;

/// torch smooth_l1_loss: 0.5*d^2/beta where |d| < beta, else |d| - 0.5*beta, d = input -
/// target (beta = 0 is the L1 loss). Differentiable in both. Throws tg::Error for beta < 0 or
/// mismatched shapes.
Variable smooth_l1_loss(const Variable& input, const Variable& target,
                        SmoothL1LossOptions options = {});

/// LibTorch's HuberLossOptions as an aggregate: `{.delta = 2.0}`.
struct HuberLossOptions {
  Reduction reduction = Reduction::Mean;  ///< mean over all elements, sum, or none
  double delta = 1.0;                     ///< where the quadratic turns linear, > 0
};
/// LibTorch's name for the functional form's options.
using HuberLossFuncOptions = HuberLossOptions;

/// torch huber_loss: 0.5*d^2 where |d| < delta, else delta*(|d| - 0.5*delta), d = input -
/// target (= delta * smooth_l1_loss with beta = delta). Differentiable in both. Throws
/// tg::Error for delta <= 0 or mismatched shapes.
Variable huber_loss(const Variable& input, const Variable& target, HuberLossOptions options = {});
/// mean((input - target)^2) (or sum / none).
Variable mse_loss(const Variable& input, const Variable& target,
                  Reduction reduction = Reduction::Mean);
/// torch binary_cross_entropy_with_logits, stable for logits of +-100.
Variable binary_cross_entropy_with_logits(const Variable& logits, const Variable& target,
                                          Reduction reduction = Reduction::Mean);

}  // namespace tg
