#pragma once
// 2-D convolution (PyTorch's cross-correlation) over contiguous NCHW buffers, parallel over the
// images with a single-threaded product inside: 3x3 "same" convs with >= 32 channels run through
// Winograd's F(2x2, 3x3) (conv2d_winograd.hpp, forward, input and weight gradients), other stride-1 convs
// with >= 16 output channels (>= 4 in the forward pass) implicitly (conv2d_implicit.hpp:
// small_gemm over shifted rows of a padded copy), other convs with >= 16 output channels through
// im2col + small_gemm, thinner ones through im2col + the BLAS of gemm.hpp.
#include "tapegrad/autograd/kernels/im2col.hpp"

namespace tg::kernels {

/// Whether a convolution under autocast (with the bf16 kernels chosen) runs a bf16 route of its
/// own: stride 1 through ImplicitConvBf16 (gemm_bf16.hpp), others through im2col + gemm_bf16.
/// Not where Winograd applies: that keeps its tiles, with bf16 products.
bool conv2d_bf16_route(const ConvGeometry& g);

/// y [N, Cout, Ho, Wo] = conv(x [N, Cin, H, W], w [Cout, Cin/groups, kH, kW]) + bias [Cout]
/// (bias may be null). With bf16 set (autocast; needs bf16_kernels_available()), x and w are
/// rounded to bfloat16 and the products accumulate in fp32 (conv2d_bf16_route); where Winograd
/// applies, its transformed tiles and filters are rounded instead.
void conv2d_forward(const float* x, const float* w, const float* bias, float* y,
                    const ConvGeometry& g, bool bf16 = false);

/// Gradients of conv2d_forward given gy [N, Cout, Ho, Wo]. Each of gx [N, Cin, H, W],
/// gw [Cout, Cin/groups, kH, kW] and gb [Cout] may be null (not wanted); they are overwritten.
/// x is read only for gw, w only for gx. With bf16 set, the products round their operands (gy,
/// x, w, or Winograd's transforms of them) to bfloat16 and accumulate in fp32; gb is an fp32 sum.
void conv2d_backward(const float* gy, const float* x, const float* w, float* gx, float* gw,
                     float* gb, const ConvGeometry& g, bool bf16 = false);

}  // namespace tg::kernels
