#pragma once
// The trainer's --mixup ALPHA and --cutmix ALPHA: batch-level augmentation with soft
// targets, as torchvision.transforms.v2 (data/batch_transforms.hpp), trained through
// cross_entropy's probability targets (label smoothing, when also asked for, applies to them).
#include <optional>

#include <tapegrad/data/batch_transforms.hpp>

namespace tg::examples {

/// Nothing when both alphas are 0; MixUp or CutMix when one is > 0; RandomChoice of the two (one
/// per batch, each with probability 1/2) when both are, as torchvision's reference recipes do.
/// Throws tg::Error naming the option for a negative alpha.
std::optional<data::BatchTransform> batch_mixing(double mixup_alpha, double cutmix_alpha, int classes);

}  // namespace tg::examples
