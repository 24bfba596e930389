#pragma once
/// @file
/// SyncBatchNorm: batch normalisation whose training statistics are those of the global batch
/// (every rank's counts, sums and sums of squares), with the matching backward, so that R ranks
/// with batch B/R normalise (and train) as one process with batch B.
#include "tapegrad/nn/module.hpp"

namespace tg::distributed {

/// tg::batch_norm with the training statistics summed over every rank (one allreduce forward,
/// one backward); the running statistics get the global mean and unbiased variance. Eval mode
/// (running statistics) and a world of one are tg::batch_norm itself. weight/bias gradients are
/// this rank's share (DDP averages them like any other).
Variable sync_batch_norm(const Variable& x, Tensor* running_mean, Tensor* running_var,
                         const Variable& weight, const Variable& bias, bool training,
                         float momentum = 0.1f, float eps = 1e-5f);

/// Makes every BatchNorm1d/2d in `model` (in place) normalise with global-batch statistics;
/// returns how many it converted. Every rank must run the same BatchNorm calls in the same order.
int convert_sync_batchnorm(nn::Module& model);

}  // namespace tg::distributed
