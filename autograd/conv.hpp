#pragma once
/// @file
/// 2-D convolution (cross-correlation, as in PyTorch), NCHW.
#include "tapegrad/autograd/arg.hpp"
#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// conv2d's options (LibTorch's torch::nn::functional::Conv2dFuncOptions, also named so below):
/// `{.stride = 2, .padding = 1}` or `Conv2dFuncOptions().stride(2).padding(1)`; each field
/// reads as a value and as LibTorch's getter (tapegrad/autograd/arg.hpp).
struct Conv2dOptions {
  /// Step between windows on both axes.
  TG_ARG(Conv2dOptions, stride, std::int64_t) = 1;
  /// Zeros added on each side of both axes.
  TG_ARG(Conv2dOptions, padding, std::int64_t) = 0;
  /// Spacing between kernel elements on both axes.
  TG_ARG(Conv2dOptions, dilation, std::int64_t) = 1;
  /// Channel groups.
  TG_ARG(Conv2dOptions, groups, std::int64_t) = 1;
  /// Per-axis stride (height, width); when set (> 0) it overrides `stride`.
  TG_ARG(Conv2dOptions, stride_h, std::int64_t) = 0;
  TG_ARG(Conv2dOptions, stride_w, std::int64_t) = 0;  ///< see stride_h
  /// Per-axis padding; when set (>= 0) it overrides `padding`.
  TG_ARG(Conv2dOptions, padding_h, std::int64_t) = -1;
  TG_ARG(Conv2dOptions, padding_w, std::int64_t) = -1;  ///< see padding_h
  /// Per-axis dilation; when set (> 0) it overrides `dilation`.
  TG_ARG(Conv2dOptions, dilation_h, std::int64_t) = 0;
  TG_ARG(Conv2dOptions, dilation_w, std::int64_t) = 0;  ///< see dilation_h
};

/// LibTorch's name of conv2d's options (the bias is conv2d's third argument here).
using Conv2dFuncOptions = Conv2dOptions;

/// torch.nn.functional.conv2d: x [N, Cin, H, W], weight [Cout, Cin/groups, kH, kW],
/// bias [Cout] or undefined; result [N, Cout, Ho, Wo] with
/// Ho = (H + 2*padding - dilation*(kH-1) - 1) / stride + 1.
Variable conv2d(const Variable& x, const Variable& weight, const Variable& bias = Variable(),
                Conv2dOptions options = {});

}  // namespace tg
