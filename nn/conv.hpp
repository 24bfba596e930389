#pragma once
/// @file
/// Conv2d (torch.nn.Conv2d).
#include "tapegrad/autograd/arg.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/size2.hpp"

namespace tg::nn {

/// Conv2d's options (torch::nn::Conv2dOptions), in either form:
/// `Conv2d(3, 16, 3, {.stride = 2, .padding = 1})` (the channels and kernel given to the
/// layer, the fields named here) or LibTorch's `Conv2d(Conv2dOptions(3, 16, 3).stride(2)
/// .padding(1))`; every field reads as a value (`o.stride.h`) and as LibTorch's getter
/// (`o.stride()`), see tapegrad/autograd/arg.hpp.
struct Conv2dOptions {
  /// Input channels (LibTorch's first positional argument; in the designated form the layer's
  /// constructor argument sets it).
  TG_ARG(Conv2dOptions, in_channels, std::int64_t) = 0;
  /// Output channels (LibTorch's second positional argument).
  TG_ARG(Conv2dOptions, out_channels, std::int64_t) = 0;
  /// Kernel height and width (LibTorch's third positional argument): `3` or `{3, 5}`.
  TG_ARG(Conv2dOptions, kernel_size, Size2) = 0;
  /// Step between windows, per axis.
  TG_ARG(Conv2dOptions, stride, Size2) = 1;
  /// Zeros added on each side, per axis.
  TG_ARG(Conv2dOptions, padding, Size2) = 0;
  /// Spacing between kernel elements, per axis.
  TG_ARG(Conv2dOptions, dilation, Size2) = 1;
  /// Channel groups: in_channels and out_channels must be divisible by it.
  TG_ARG(Conv2dOptions, groups, std::int64_t) = 1;
  /// Whether the layer has a bias [out_channels].
  TG_ARG(Conv2dOptions, bias, bool) = true;
};

/// x [N, in, H, W] -> [N, out, Ho, Wo]; weight [out, in/groups, kH, kW] and bias [out] drawn
/// from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups*kH*kW (PyTorch's default).
class Conv2dImpl : public Layer {
 public:
  /// The designated form: the channels and kernel here, the other fields in `options` (whose
  /// in_channels, out_channels and kernel_size are set from these arguments).
  Conv2dImpl(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size,
             Conv2dOptions options = {});
  /// LibTorch's form: `Conv2dImpl(Conv2dOptions(3, 16, 3).stride(2))`.
  explicit Conv2dImpl(const Conv2dOptions& options)
      : Conv2dImpl(options.in_channels, options.out_channels, options.kernel_size, options) {}
  Variable forward(const Variable& x) override;
  std::string name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  /// out.numel() * in/groups * kH * kW.
  std::uint64_t multiply_adds(const Shape& in, const Shape& out) const override;
  /// Redraws weight and bias with PyTorch's default initialisation.
  void reset_parameters();

  ///@{
  /// The configuration as constructed (in_channels, out_channels and kernel_size are also
  /// options' fields of the same names).
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
  /// The designated form: `Conv2d(3, 16, 3, {.padding = 1, .bias = false})`.
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size,
         Conv2dOptions options = {})
      : ModuleHolder(
            std::make_shared<Conv2dImpl>(in_channels, out_channels, kernel_size, options)) {}
  /// LibTorch's form: `Conv2d(Conv2dOptions(1, 64, 4).stride(2).padding(1).bias(false))`.
  explicit Conv2d(const Conv2dOptions& options)
      : ModuleHolder(std::make_shared<Conv2dImpl>(options)) {}
};

}  // namespace tg::nn
