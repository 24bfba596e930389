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
};

/// softmax along `dim` (stable: subtracts the max).
Variable softmax(const Variable& x, std::int64_t dim = -1);
/// log softmax along `dim`, stable for logits of +-1000.
Variable log_softmax(const Variable& x, std::int64_t dim = -1);
/// torch cross_entropy: logits [N, C], labels [N] in [0, C); fused with log_softmax. With label
/// smoothing ls: (1-ls)*nll + ls*mean over classes of -log p; gradient softmax - target.
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
/// mean((input - target)^2) (or sum / none).
Variable mse_loss(const Variable& input, const Variable& target,
                  Reduction reduction = Reduction::Mean);
/// torch binary_cross_entropy_with_logits, stable for logits of +-100.
Variable binary_cross_entropy_with_logits(const Variable& logits, const Variable& target,
                                          Reduction reduction = Reduction::Mean);

}  // namespace tg
