#pragma once
/// @file
/// torchvision's VGG (Simonyan & Zisserman 2015) and AlexNet (Krizhevsky et al. 2012, the
/// one-GPU variant torchvision ships), with torchvision 0.14's names: `features` (Sequential of
/// conv/ReLU/pool, indexed as torchvision counts them), `avgpool`, `classifier`.
#include <cstdint>
#include <vector>

#include "tapegrad/nn/nn.hpp"

namespace tg::vision::models {

/// `{.num_classes = 10, .dropout = 0.5}`.
struct VGGOptions {
  std::int64_t num_classes = 1000;  ///< outputs of the classifier
  std::int64_t in_channels = 3;  ///< not in torchvision: changes features.0's weight shape only
  double dropout = 0.5;          ///< the classifier's two Dropout layers
};

/// Input [N, in_channels, H, W] with H, W >= 32 (five 2x2 poolings); adaptive pooling to 7x7,
/// so any larger size works. Initialised as torchvision does.
class VGG : public nn::Module {
 public:
  /// `config`: output channels of each 3x3 conv, 0 for a 2x2 max pooling ("M" in torchvision).
  VGG(const std::vector<int>& config, bool batch_norm, VGGOptions options = {});
  /// x [N, in_channels, H, W] -> logits [N, num_classes].
  Variable forward(const Variable& x);
  std::string name() const override { return "VGG"; }

  nn::Sequential features;        ///< the convolutions, ReLUs (and BNs) and poolings
  nn::AdaptiveAvgPool2d avgpool;  ///< to 7x7
  nn::Sequential classifier;      ///< Linear(25088, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout, Linear(4096, num_classes)
};

/// Configuration "A", 8 convs: 132,863,336 parameters with 1000 classes.
VGG vgg11(VGGOptions options = {});
/// "A" with BatchNorm after each conv: 132,868,840.
VGG vgg11_bn(VGGOptions options = {});
/// Configuration "D", 13 convs: 138,357,544.
VGG vgg16(VGGOptions options = {});

/// `{.num_classes = 10}`.
struct AlexNetOptions {
  std::int64_t num_classes = 1000;  ///< outputs of the classifier
  std::int64_t in_channels = 3;  ///< not in torchvision: changes features.0's weight shape only
  double dropout = 0.5;          ///< the classifier's two Dropout layers
};

/// Input [N, in_channels, H, W] with H, W >= 63; output [N, num_classes]. 61,100,840 parameters
/// with 1000 classes. PyTorch's default initialisation, as torchvision.
class AlexNet : public nn::Module {
 public:
  /// A new AlexNet with PyTorch's default initialisation.
  explicit AlexNet(AlexNetOptions options = {});
  /// x [N, in_channels, H, W] -> logits [N, num_classes].
  Variable forward(const Variable& x);
  std::string name() const override { return "AlexNet"; }

  nn::Sequential features;        ///< five convolutions with ReLUs and three max poolings
  nn::AdaptiveAvgPool2d avgpool;  ///< to 6x6
  nn::Sequential classifier;      ///< Dropout, Linear(9216, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Linear(4096, num_classes)
};

/// torchvision.models.alexnet: `auto net = alexnet({.num_classes = 10});`.
AlexNet alexnet(AlexNetOptions options = {});

}  // namespace tg::vision::models
