#pragma once
// ConvTranspose2d (torch.nn.ConvTranspose2d): the upsampling layer of generators and decoders.
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/size2.hpp"

namespace tg::nn {

/// ConvTranspose2d's options besides the channels and the kernel, named as LibTorch's
/// ConvTranspose2dOptions: `{.stride = 2, .padding = 1, .bias = false}`.
struct ConvTranspose2dOptions {
  Size2 stride = 1;          ///< step of the adjoint convolution
  Size2 padding = 0;         ///< removed from both sides of the output
  Size2 output_padding = 0;  ///< added to the bottom/right of the output; < stride or < dilation
  std::int64_t groups = 1;   ///< divides in_channels and out_channels
  bool bias = true;          ///< whether the layer has a bias [out]
  Size2 dilation = 1;        ///< spacing between kernel taps
};

/// x [N, in, H, W] -> [N, out, Ho, Wo], Ho = (H-1)*stride - 2*padding + dilation*(kH-1) +
/// output_padding + 1 (tg::conv_transpose2d). weight [in, out/groups, kH, kW] (PyTorch's layout)
/// and bias [out] drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = out/groups*kH*kW
/// (PyTorch's default, which computes fan_in from the weight's second dimension).
class ConvTranspose2dImpl : public Layer {
 public:
  /// Throws tg::Error for non-positive channels, kernel, stride or dilation, negative padding,
  /// output_padding not below stride or dilation, or channels not divisible by groups.
  ConvTranspose2dImpl(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size,
                      ConvTranspose2dOptions options = {});
  /// x [N, in, H, W]; throws tg::Error for any other shape.
  Variable forward(const Variable& x) override;
  /// "ConvTranspose2d".
  std::string name() const override { return "ConvTranspose2d"; }
  /// PyTorch's repr: "1, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False".
  std::string extra_repr() const override;
  /// in.numel() * out/groups * kH * kW: every input value meets every tap of its group.
  std::uint64_t multiply_adds(const Shape& in, const Shape& out) const override;
  /// Redraws weight and bias with PyTorch's default initialisation.
  void reset_parameters();

  std::int64_t in_channels;         ///< channels of the input
  std::int64_t out_channels;        ///< channels of the output
  Size2 kernel_size;                ///< (kH, kW)
  ConvTranspose2dOptions options;   ///< as given to the constructor
  Variable weight;                  ///< [in, out/groups, kH, kW]
  Variable bias;                    ///< [out]; undefined when options.bias is false
};

/// Holder of a ConvTranspose2dImpl:
/// `tg::nn::ConvTranspose2d up{64, 32, 4, {.stride = 2, .padding = 1, .bias = false}}`.
class ConvTranspose2d : public ModuleHolder<ConvTranspose2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// Makes a new ConvTranspose2dImpl with these arguments.
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size,
                  ConvTranspose2dOptions options = {})
      : ModuleHolder(std::make_shared<ConvTranspose2dImpl>(in_channels, out_channels,
                                                           kernel_size, options)) {}
};

}  // namespace tg::nn
