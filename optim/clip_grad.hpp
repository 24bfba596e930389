#pragma once
/// @file
/// Gradient clipping (torch.nn.utils.clip_grad_norm_ and clip_grad_value_), applied between
/// backward() and step(). Parameters without a gradient are skipped.
#include <limits>
#include <vector>

#include "tapegrad/autograd/variable.hpp"

namespace tg::optim {

/// Scales all gradients by max_norm / (total + 1e-6) when that is below 1, where total is the
/// norm_type-norm of all gradients taken as one vector (norm_type > 0, or infinity for the max
/// |g|). Returns total. A non-finite total throws tg::Error when error_if_nonfinite, else the
/// gradients are scaled as PyTorch does (by 0 for an infinite total, left alone for NaN).
double clip_grad_norm_(const std::vector<Variable>& params, double max_norm,
                       double norm_type = 2.0, bool error_if_nonfinite = false);

/// Clamps every gradient element into [-clip_value, clip_value] (clip_value >= 0).
void clip_grad_value_(const std::vector<Variable>& params, double clip_value);

}  // namespace tg::optim
