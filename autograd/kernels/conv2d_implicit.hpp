#pragma once
// Stride-1 convolution without a column matrix. With the input copied once into a zero-padded
// plane [Cin, H + 2*pad_h, W + 2*pad_w] and the output computed on a grid as wide as that plane
// (the extra kW - 1 positions of each output row are computed and dropped), every row of
// im2col's column matrix is the padded plane itself, shifted by the tap's offset
// ki*(W + 2*pad_w) + kj. small_gemm reads those shifted rows through a table of pointers, so the
// product never materialises the matrix: im2col and its 9x copy of the input disappear from the
// forward pass, the input gradient (itself a stride-1 convolution) and the weight gradient.
#include <cstdint>
#include <vector>

#include "tapegrad/autograd/kernels/im2col.hpp"

namespace tg::kernels {

/// Stride 1, dilation 1, not pointwise (a 1x1 conv needs no columns anyway), and at least 16
/// output channels per group (small_gemm's minimum).
bool implicit_conv_applies(const ConvGeometry& g);

/// The same for a forward pass with as few as 4 output channels per group: small_gemm's 8-row
/// tile then computes some rows for nothing, which costs less than im2col's copy of the input
/// (K times its size) that the BLAS route needs (the seed network's 3 -> 5 and 5 -> 10 k5 convs:
/// a training step 0.85x the time, measured). The weight gradient's tile is 16 columns of
/// output channels, mostly padding below 16: it keeps the BLAS route there.
bool implicit_forward_applies(const ConvGeometry& g);

/// One task's scratch for convolving image after image; borders stay zero between images.
class ImplicitConv {
 public:
  explicit ImplicitConv(const ConvGeometry& g);

  /// y_b [Cout, Ho, Wo] = conv(x_b [Cin, H, W], w [Cout, Cin/groups, kH, kW]), no bias.
  void forward(const float* xb, const float* w, float* yb);

  /// Per group g: gw_t[g] [K, Cout/groups] += columns(x_b)_g [K, P] @ gy_b,g^T [P, Cout/groups].
  void accumulate_weight_grad(const float* xb, const float* gyb, float* gw_t);

 private:
  void load_padded(const float* xb);
  ConvGeometry g_;
  std::int64_t padded_w_, padded_plane_, wide_;  // wide_ = Ho * padded_w_: the wide output grid
  std::vector<float> padded_;                      // [Cin, Hp, Wp] + slack for the last taps
  std::vector<float> wide_out_;                    // [Cout/groups, wide_] (forward)
  std::vector<float> wide_gy_t_;                   // [wide_, Cout/groups] (weight gradient)
  std::vector<const float*> rows_;                 // one group's K shifted rows
};

}  // namespace tg::kernels
