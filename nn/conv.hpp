#pragma once
/// @file
/// Conv2d (torch.nn.Conv2d).
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/size2.hpp"

namespace tg::nn {

/// Conv2d's options besides the channels and the kernel: `{.stride = 2, .padding = 1}`.
struct Conv2dOptions {
  Size2 stride = 1;
  Size2 padding = 0;
  Size2 dilation = 1;
  std::int64_t groups = 1;
  bool bias = true;
};

/// x [N, in, H, W] -> [N, out, Ho, Wo]; weight [out, in/groups, kH, kW] and bias [out] drawn
/// from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups*kH*kW (PyTorch's default).
class Conv2dImpl : public Layer {
 public:
  /// Channels in and out, the kernel's height and width (`3` or `{3, 5}`), and the options;
  /// sizes < 1, padding < 0, or channels groups does not divide throw tg::Error.
  Conv2dImpl(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size,
             Conv2dOptions options = {});
  Variable forward(const Variable& x) override;
  std::string name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  /// out.numel() * in/groups * kH * kW.
  std::uint64_t multiply_adds(const Shape& in, const Shape& out) const override;
  /// Redraws weight and bias with PyTorch's default initialisation.
  void reset_parameters();

  ///@{
  /// The configuration as constructed.
  std::int64_t in_channels, out_channels;
  Size2 kernel_size;
  Conv2dOptions options;
  ///@}
  ///@{
  /// weight [out, in/groups, kH, kW]; bias [out], undefined when options.bias is false.
  Variable weight, bias;
  ///@}
};

/// Holder of a Conv2dImpl: `tg::nn::Conv2d conv{3, 16, 3, {.padding = 1, .bias = false}}`.
class Conv2d : public ModuleHolder<Conv2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new Conv2dImpl with these arguments.
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size,
         Conv2dOptions options = {})
      : ModuleHolder(
            std::make_shared<Conv2dImpl>(in_channels, out_channels, kernel_size, options)) {}
};

}  // namespace tg::nn
