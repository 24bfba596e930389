#pragma once
/// @file
/// The residual blocks of ResNet (torchvision's BasicBlock and Bottleneck, v1.5: the stride is on
/// the 3x3 convolution). The projection shortcut, when there is one, is registered as
/// `downsample` (a Sequential of a 1x1 convolution and a BatchNorm2d), as torchvision names it,
/// so that state dicts match torchvision's ResNets; an identity shortcut is not registered.
#include "tapegrad/nn/activation.hpp"
#include "tapegrad/nn/conv.hpp"
#include "tapegrad/nn/normalization.hpp"
#include "tapegrad/nn/sequential.hpp"

namespace tg::nn {

/// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); 3x3 convolutions without bias, conv1
/// with `stride`; the shortcut projects (1x1 conv with `stride` + BN) when stride != 1 or
/// in_channels != out_channels. Output channels: out_channels (expansion 1).
class BasicBlockImpl : public Layer {
 public:
  static constexpr std::int64_t expansion = 1;  ///< output channels / out_channels
  /// in_channels -> out_channels, spatial size divided by stride.
  BasicBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride = 1);
  Variable forward(const Variable& x) override;
  std::string name() const override { return "BasicBlock"; }

  ///@{
  /// The layers, torchvision's names (state-dict keys "conv1.weight", "bn1.running_mean", ...).
  Conv2d conv1;
  BatchNorm2d bn1;
  ReLU relu;
  Conv2d conv2;
  BatchNorm2d bn2;
  ///@}
  Sequential downsample;  ///< empty: identity shortcut
};

/// 1x1 (in -> planes), 3x3 with `stride` (planes -> planes), 1x1 (planes -> 4 * planes), each
/// followed by BN, ReLU after the first two and after the sum with the shortcut, which projects
/// when stride != 1 or in_channels != 4 * planes. Output channels: 4 * planes.
class BottleneckImpl : public Layer {
 public:
  static constexpr std::int64_t expansion = 4;  ///< output channels / planes
  /// in_channels -> 4 * planes, spatial size divided by stride.
  BottleneckImpl(std::int64_t in_channels, std::int64_t planes, std::int64_t stride = 1);
  Variable forward(const Variable& x) override;
  std::string name() const override { return "Bottleneck"; }

  ///@{
  /// The layers, torchvision's names (state-dict keys "conv1.weight", "bn3.bias", ...).
  Conv2d conv1;
  BatchNorm2d bn1;
  Conv2d conv2;
  BatchNorm2d bn2;
  Conv2d conv3;
  BatchNorm2d bn3;
  ReLU relu;
  ///@}
  Sequential downsample;  ///< empty: identity shortcut
};

/// Holder of a BasicBlockImpl: `tg::nn::BasicBlock block(64, 128, 2)`.
class BasicBlock : public ModuleHolder<BasicBlockImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new block, in_channels -> out_channels, spatial size divided by stride.
  BasicBlock(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride = 1)
      : ModuleHolder(std::make_shared<BasicBlockImpl>(in_channels, out_channels, stride)) {}
};

/// Holder of a BottleneckImpl: `tg::nn::Bottleneck block(256, 64)` (256 -> 256 channels).
class Bottleneck : public ModuleHolder<BottleneckImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new block, in_channels -> 4 * planes, spatial size divided by stride.
  Bottleneck(std::int64_t in_channels, std::int64_t planes, std::int64_t stride = 1)
      : ModuleHolder(std::make_shared<BottleneckImpl>(in_channels, planes, stride)) {}
};

}  // namespace tg::nn
