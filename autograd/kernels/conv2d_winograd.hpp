#pragma once
// Winograd's minimal filtering F(2x2, 3x3) for the 3x3, stride-1, padding-1 convolutions of
// ResNet-style networks: each 2x2 block of outputs comes from a 4x4 input tile through 16
// products instead of 36, so the GEMM work is 2.25x smaller, at the cost of transforms that
// move memory. Those transforms only pay for themselves with many channels. Measured on the
// 2-core AVX-512 machine, batch 64, one thread, best of 3 runs against conv2d_implicit.hpp:
// 64 -> 64 on 8x8 forward 1.87 vs 2.73 ms and input gradient 1.79 vs 2.60 ms; 32 -> 32 on
// 16x16 forward 2.37 vs 2.64 ms; with 16 channels (products with k = 16) a prototype lost. The
// weight gradient through the same tiles took a whole conv's forward + backward, 4 alternating
// runs, to 0.81x the time on 32 -> 32 16x16, 0.87x on 14x14, 0.84-1.0x on 64 -> 64 7x7.
// Rounding: the transforms add and halve exactly representable coefficients; the forward and the
// input gradient differ from the direct sum by a few units in the last place (~1e-6 relative),
// the weight gradient, a sum over every tile of the batch, by ~1e-5 relative.
#include "tapegrad/autograd/kernels/im2col.hpp"

namespace tg::kernels {

/// A 3x3 kernel, stride 1, padding 1, no dilation or groups, and at least 32 input and output
/// channels. An odd side runs as the next even one (7x7 as 8x8: 16 tiles for 12.25 tiles'
/// worth of outputs, still 1.7x fewer products than the direct sum).
bool winograd_applies(const ConvGeometry& g);

/// y [N, Cout, H, W] = conv(x [N, Cin, H, W], w [Cout, Cin, 3, 3]) + bias (may be null), for a
/// geometry where winograd_applies. With bf16 (autocast), the 16 products round the transformed
/// tiles and filters to bf16 and accumulate in fp32 (gemm_bf16); the transforms stay fp32.
void winograd_conv2d_forward(const float* x, const float* w, const float* bias, float* y,
                             const ConvGeometry& g, bool bf16 = false);

/// gw [Cout, Cin, 3, 3] = the weight gradient of that convolution for x and gy [N, Cout, H, W],
/// through the same tiles: dU = the sum over tiles of (B^T d B) (A dY A^T)^T, 16 products with
/// 2.25x fewer operations than the direct sum, then gw = G^T dU G.
/// With bf16, the 16 products as in the forward.
void winograd_conv2d_weight_grad(const float* x, const float* gy, float* gw, const ConvGeometry& g,
                                 bool bf16 = false);

}  // namespace tg::kernels
