#pragma once
// The CIFAR-style ResNet of He et al. (2016), section 4.2: a 3x3 stem with 16 channels, three
// stages of n BasicBlocks (16, 32, 64 channels; stride 2 and a 1x1 conv + BN projection at the
// start of stages 2 and 3), global average pooling and a linear classifier: depth 6n + 2.
// A width multiplier k gives 16k, 32k, 64k channels (the "wide" ResNets of Zagoruyko and
// Komodakis 2016, without their dropout and pre-activation order).
#include <vector>

#include <tapegrad/nn/nn.hpp>

namespace tg::examples {

struct ResNetCifar : nn::Module {
  nn::Conv2d conv1;
  nn::BatchNorm2d bn1;
  nn::Sequential layer1, layer2, layer3;
  nn::AdaptiveAvgPool2d pool{{1, 1}};
  nn::Linear fc;

  /// depth 20, 32, 44, 56, ... (6n + 2); in_channels 1 (MNIST-like) or 3 (CIFAR); width k:
  /// 16k, 32k, 64k channels (1: the paper's network).
  ResNetCifar(int depth, int in_channels, int num_classes, int width = 1);

  Variable forward(const Variable& x);
  /// The pooled 64 * width features before the classifier (what transfer learning keeps).
  Variable features(const Variable& x);
  /// The activations after the stem and after each stage (for pictures of feature maps).
  std::vector<Variable> stage_outputs(const Variable& x);
  /// Gives the classifier fresh weights (a new head for transfer learning).
  void reset_classifier() { fc->reset_parameters(); }
};

/// Throws tg::Error unless depth is 6n + 2 with n >= 1.
int blocks_per_stage(int depth);

}  // namespace tg::examples
