#pragma once
// 2-D transposed convolution (PyTorch's conv_transpose2d, the adjoint of conv2d), NCHW.
#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// LibTorch's ConvTranspose2dFuncOptions as an aggregate: `{.stride = 2, .padding = 1}`.
/// The square values apply to both axes; a per-axis value, when set, overrides them.
struct ConvTranspose2dFuncOptions {
  std::int64_t stride = 1;          ///< step of the adjoint convolution, >= 1
  std::int64_t padding = 0;         ///< removed from both sides of the output, >= 0
  std::int64_t output_padding = 0;  ///< added to one side of the output, < stride or < dilation
  std::int64_t groups = 1;          ///< divides both channel counts
  std::int64_t dilation = 1;        ///< spacing between kernel taps, >= 1
  std::int64_t stride_h = 0;           ///< stride along the height; 0: `stride`
  std::int64_t stride_w = 0;           ///< stride along the width; 0: `stride`
  std::int64_t padding_h = -1;         ///< padding along the height; -1: `padding`
  std::int64_t padding_w = -1;         ///< padding along the width; -1: `padding`
  std::int64_t output_padding_h = -1;  ///< output_padding along the height; -1: `output_padding`
  std::int64_t output_padding_w = -1;  ///< output_padding along the width; -1: `output_padding`
  std::int64_t dilation_h = 0;         ///< dilation along the height; 0: `dilation`
  std::int64_t dilation_w = 0;         ///< dilation along the width; 0: `dilation`
};

/// torch.nn.functional.conv_transpose2d: x [N, Cin, H, W], weight [Cin, Cout/groups, kH, kW]
/// (PyTorch's layout), bias [Cout] or undefined; result [N, Cout, Ho, Wo] with
/// Ho = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1.
/// Computed as a GEMM (weight^T @ x) folded back by col2im; the input gradient is conv2d of the
/// output gradient, the weight gradient a GEMM, the bias gradient a sum.
/// Throws tg::Error for a non-4-D input, mismatched channels or groups, a bias that is not
/// [Cout], output_padding not below stride or dilation, or an output size below 1.
Variable conv_transpose2d(const Variable& x, const Variable& weight,
                          const Variable& bias = Variable(),
                          ConvTranspose2dFuncOptions options = {});

}  // namespace tg
