#pragma once
// Unfolding image patches into columns (im2col) and folding them back (col2im): the data
// movement that turns a convolution into a GEMM. Plain functions over contiguous buffers.
#include <cstdint>

namespace tg::kernels {

/// The shape of one 2-D convolution, per axis, in PyTorch's terms.
struct ConvGeometry {
  std::int64_t batch = 1, in_channels = 1, height = 1, width = 1;  ///< input [N, Cin, H, W]
  std::int64_t out_channels = 1, kernel_h = 1, kernel_w = 1;       ///< weight [Cout, Cin/groups, kH, kW]
  std::int64_t groups = 1;
  std::int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
  std::int64_t out_h = 1, out_w = 1;  ///< (H + 2*pad - dilation*(k-1) - 1) / stride + 1

  /// Fills out_h / out_w from the rest (the caller checked that the kernel fits).
  void compute_output_size();
  std::int64_t in_per_group() const { return in_channels / groups; }
  std::int64_t out_per_group() const { return out_channels / groups; }
  /// Rows of one group's column matrix: Cin/groups * kH * kW.
  std::int64_t col_rows() const { return in_per_group() * kernel_h * kernel_w; }
  std::int64_t in_plane() const { return height * width; }
  std::int64_t out_plane() const { return out_h * out_w; }
  /// A 1x1 kernel with stride 1 and no padding: the input already is the column matrix.
  bool is_pointwise() const;
};

/// cols [channels*kH*kW, ld] (first out_h*out_w columns) from x [channels, H, W]; taps that
/// fall into the padding are 0.
void im2col(const float* x, std::int64_t channels, const ConvGeometry& g, float* cols,
            std::int64_t ld);
/// The adjoint of im2col: adds every column entry back onto dx [channels, H, W].
void col2im(const float* cols, std::int64_t channels, const ConvGeometry& g, std::int64_t ld,
            float* dx);

}  // namespace tg::kernels
