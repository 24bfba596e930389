#pragma once
/// @file
/// Batch normalisation and dropout.
#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// torch batch_norm over dimension 1 of [N, C] or [N, C, H, W]. Training: normalises with the
/// biased batch variance and updates running_mean/var in place (running = (1-momentum)*running
/// + momentum*batch, the variance unbiased); eval: uses the running statistics. weight, bias
/// [C] may be undefined; running statistics may be undefined in training (not tracked).
Variable batch_norm(const Variable& x, Tensor* running_mean, Tensor* running_var,
                    const Variable& weight, const Variable& bias, bool training,
                    float momentum = 0.1f, float eps = 1e-5f);

/// relu(batch_norm(...)) in the same passes over memory (forward and backward): what a residual
/// block's conv -> BN -> ReLU needs, without writing and re-reading the normalised tensor.
Variable batch_norm_relu(const Variable& x, Tensor* running_mean, Tensor* running_var,
                         const Variable& weight, const Variable& bias, bool training,
                         float momentum = 0.1f, float eps = 1e-5f);

/// Zeroes each element with probability p and scales the rest by 1/(1-p) in training;
/// identity otherwise. Draws from the default generator.
Variable dropout(const Variable& x, float p = 0.5f, bool training = true);
/// torch dropout2d: in training, zeroes whole channels x[n, c, :, :] of x [N, C, H, W], each
/// with probability p, and scales the others by 1/(1-p) (p = 1 gives zeros); otherwise
/// returns x. Draws from tg::default_generator(). Throws tg::Error for p outside [0, 1] or an
/// input that is not 4-D.
Variable dropout2d(const Variable& x, float p = 0.5f, bool training = true);

}  // namespace tg
