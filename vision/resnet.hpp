#pragma once
/// @file
/// torchvision's ResNets (He et al. 2016, v1.5: the stride sits on the 3x3 convolution) with
/// torchvision 0.14's module names, so state dicts load both ways: conv1, bn1, relu, maxpool,
/// layer1..layer4 (Sequentials of nn::BasicBlock or nn::Bottleneck), avgpool, fc.
#include <array>
#include <cstdint>

#include "tapegrad/nn/nn.hpp"

namespace tg::vision::models {

/// `{.num_classes = 10, .in_channels = 1}`.
struct ResNetOptions {
  std::int64_t num_classes = 1000;  ///< outputs of fc
  /// Channels of the input image: 1 for MNIST-like data (changes conv1's weight shape only).
  std::int64_t in_channels = 3;
  /// Zero the last BN weight of each block, so each block starts as the identity.
  bool zero_init_residual = false;
};

/// Which residual block the stages use.
enum class ResNetBlock {
  Basic,      ///< nn::BasicBlock, two 3x3 convolutions (ResNet-18, -34)
  Bottleneck  ///< nn::Bottleneck, 1x1 -> 3x3 -> 1x1 with expansion 4 (ResNet-50)
};

/// Input [N, in_channels, H, W], any H, W >= 1 (adaptive average pooling before fc);
/// output [N, num_classes]. Initialised as torchvision does (kaiming_normal_ fan_out convs).
class ResNet : public nn::Module {
 public:
  /// `layers`: blocks per stage ({2, 2, 2, 2} for ResNet-18).
  ResNet(ResNetBlock block, std::array<int, 4> layers, ResNetOptions options = {});
  /// x [N, in_channels, H, W] -> logits [N, num_classes].
  Variable forward(const Variable& x);
  std::string name() const override { return "ResNet"; }

  ResNetBlock block;  ///< the stages' block type
  ///@{
  /// The stem: 7x7 conv with stride 2, BN, ReLU, 3x3 max pool with stride 2.
  nn::Conv2d conv1;
  nn::BatchNorm2d bn1;
  nn::ReLU relu;
  nn::MaxPool2d maxpool;
  ///@}
  ///@{
  /// The four stages (64, 128, 256, 512 channels times the block's expansion; the last three
  /// halve the spatial size).
  nn::Sequential layer1, layer2, layer3, layer4;
  ///@}
  nn::AdaptiveAvgPool2d avgpool;  ///< global average pooling to 1x1
  nn::Linear fc;                  ///< the classifier
};

/// BasicBlock, {2, 2, 2, 2}: 11,689,512 parameters with 1000 classes.
ResNet resnet18(ResNetOptions options = {});
/// BasicBlock, {3, 4, 6, 3}: 21,797,672 parameters.
ResNet resnet34(ResNetOptions options = {});
/// Bottleneck, {3, 4, 6, 3}: 25,557,032 parameters.
ResNet resnet50(ResNetOptions options = {});

}  // namespace tg::vision::models
