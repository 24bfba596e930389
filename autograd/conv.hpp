#pragma once
/// @file
/// 2-D convolution (cross-correlation, as in PyTorch), NCHW.
#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// conv2d's hyperparameters, PyTorch's names and defaults: `{.stride = 2, .padding = 1}`.
struct Conv2dOptions {
  ///@{
  /// Step, zero padding on each side and dilation, in pixels, the same along height and
  /// width; `groups` splits the channels into independent groups (Cin and Cout divisible by
  /// it; groups = Cin is a depthwise convolution). Values out of range throw tg::Error.
  std::int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  ///@}
  ///@{
  /// Per-axis values (height, width); when set (> 0, padding >= 0) they override the square
  /// ones above.
  std::int64_t stride_h = 0, stride_w = 0, padding_h = -1, padding_w = -1;
  std::int64_t dilation_h = 0, dilation_w = 0;
  ///@}
};

/// torch.nn.functional.conv2d: x [N, Cin, H, W], weight [Cout, Cin/groups, kH, kW],
/// bias [Cout] or undefined; result [N, Cout, Ho, Wo] with
/// Ho = (H + 2*padding - dilation*(kH-1) - 1) / stride + 1.
Variable conv2d(const Variable& x, const Variable& weight, const Variable& bias = Variable(),
                Conv2dOptions options = {});

}  // namespace tg
