#pragma once
// Pooling loops over contiguous planes ([N*C, H, W]), knowing nothing of the graph.
#include <cstdint>

namespace tg::kernels {

/// The windows of one 2-D pooling: `planes` independent H x W planes, output out_h x out_w.
struct PoolGeometry {
  std::int64_t planes = 1, height = 1, width = 1;
  std::int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  std::int64_t out_h = 1, out_w = 1;
  std::int64_t in_plane() const { return height * width; }
  std::int64_t out_plane() const { return out_h * out_w; }
};

/// PyTorch's pooling output size: floor or ceil of (size + 2*pad - kernel) / stride, plus 1; in
/// ceil mode a last window that would start in the right padding is dropped.
std::int64_t pool_output_size(std::int64_t size, std::int64_t kernel, std::int64_t stride,
                              std::int64_t pad, bool ceil_mode);

/// y = max (or min when `minimum`) of each window, padding ignored (acts as -inf / +inf); NaN
/// wins, as in PyTorch. `index` (may be null) receives the flat in-plane position of the
/// chosen element: the first extremum in row-major order.
void extremum_pool2d_forward(const float* x, float* y, std::int32_t* index, const PoolGeometry& g,
                             bool minimum);
/// gx [planes, H, W] = 0, then gy of every window added at its chosen position.
void extremum_pool2d_backward(const float* gy, const std::int32_t* index, float* gx,
                              const PoolGeometry& g);

/// y = window sum / divisor with PyTorch's divisor: with count_include_pad the window clipped
/// to the padded input (size + pad on each side), else clipped to the input.
void avg_pool2d_forward(const float* x, float* y, const PoolGeometry& g, bool count_include_pad);
/// gx = 0, then gy / divisor spread over each window.
void avg_pool2d_backward(const float* gy, float* gx, const PoolGeometry& g,
                         bool count_include_pad);

/// Adaptive average pooling: window i of n spans [floor(i*size/n), ceil((i+1)*size/n)).
void adaptive_avg_pool2d_forward(const float* x, float* y, const PoolGeometry& g);
void adaptive_avg_pool2d_backward(const float* gy, float* gx, const PoolGeometry& g);

}  // namespace tg::kernels
