#pragma once
// The network of Keller Jordan's airbench (2024, "94% on CIFAR-10 in 3.29 seconds"), made to
// learn as much as possible per epoch: a 2x2 stem (8 channels per input channel), then three
// groups of conv 3x3 -> max-pool 2 -> BN -> ReLU -> conv 3x3 -> BN -> ReLU, a max-pool over
// what is left and a linear classifier without bias, its output scaled by 1/9. No shortcuts: each
// group halves its maps right after its first convolution, so the wide layers run on small maps.
// Widths 64k, 128k, 256k for width k (airbench94 has 64, 256, 256 and GELU; ours has ReLU).
#include <tapegrad/nn/nn.hpp>

namespace tg::examples {

struct PoolNet : nn::Module {
  nn::Conv2d stem;
  nn::Sequential group1, group2, group3;
  nn::Linear fc;

  /// width k: groups of 64k, 128k, 256k channels; in_channels 1 (MNIST-like) or 3 (CIFAR);
  /// images of side >= 9 (28: maps of 27, 13, 6, 3 after the stem and each group).
  PoolNet(int width, int in_channels, int num_classes);
  Variable forward(const Variable& x);
  std::string name() const override { return "PoolNet"; }
};

}  // namespace tg::examples
