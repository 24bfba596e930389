#pragma once
// The ResNet example's --tta: test-time augmentation by horizontal flip. The prediction is the
// mean of the logits of each image and of its mirror image (the flip the training augmentation
// used, so the network has learned both).
#include <functional>

#include "autograd/variable.hpp"

namespace tg::examples {

/// Images [N, C, H, W] mirrored left-right.
Tensor hflip_batch(const Tensor& images);

/// x -> (forward(x) + forward(hflip(x))) / 2, for evaluation (no tape is recorded).
std::function<Variable(const Variable&)> with_flip_tta(std::function<Variable(const Variable&)> forward);

}  // namespace tg::examples
