#include "autograd/kernels/im2col.hpp"

#include <algorithm>
#include <cstring>

namespace tg::kernels {

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// The output columns [lo, hi) whose tap at input offset `off + ow*stride` lies inside [0, size).
void valid_range(std::int64_t off, std::int64_t stride, std::int64_t size, std::int64_t count,
                 std::int64_t& lo, std::int64_t& hi) {
  lo = off >= 0 ? 0 : ceil_div(-off, stride);
  hi = size - off <= 0 ? 0 : ceil_div(size - off, stride);
  lo = std::min(lo, count);
  hi = std::clamp(hi, lo, count);
}

// Walks every (channel, kernel tap) of the unfolding and hands `rows_fn` its column row, the
// output rows [oh_lo, oh_hi) whose input row lies inside the image and, for each, the input
// offset of output column 0 (`in` + oh * in_step; it may lie before its row: left padding) and
// the output columns [lo, hi) whose taps lie inside the row. One call per tap, not per output
// row: a stride-2 convolution's rows are 7-14 pixels, and a call per row cost more than its copy.
template <class RowsFn>
void for_each_tap(std::int64_t channels, const ConvGeometry& g, std::int64_t ld, RowsFn rows_fn) {
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t ki = 0; ki < g.kernel_h; ++ki)
      for (std::int64_t kj = 0; kj < g.kernel_w; ++kj) {
        const std::int64_t row = (c * g.kernel_h + ki) * g.kernel_w + kj;
        const std::int64_t off_h = ki * g.dilation_h - g.pad_h, off_w = kj * g.dilation_w - g.pad_w;
        std::int64_t oh_lo = 0, oh_hi = 0, lo = 0, hi = 0;
        valid_range(off_h, g.stride_h, g.height, g.out_h, oh_lo, oh_hi);
        valid_range(off_w, g.stride_w, g.width, g.out_w, lo, hi);
        const std::int64_t in = (c * g.height + off_h) * g.width + off_w;
        rows_fn(row * ld, oh_lo, oh_hi, in, g.stride_h * g.width, lo, hi);
      }
}

// dst[i] = x[i * STRIDE] for i < n: with the stride a constant (1 and 2, every convolution of
// the CNNs here) the compiler vectorises the loop; STRIDE 0 means the run-time `stride`.
template <std::int64_t STRIDE>
void gather(const float* x, std::int64_t stride, std::int64_t n, float* dst) {
  const std::int64_t s = STRIDE ? STRIDE : stride;
  for (std::int64_t i = 0; i < n; ++i) dst[i] = x[i * s];
}

// x[i * STRIDE] += src[i] for i < n (col2im's direction of gather).
template <std::int64_t STRIDE>
void scatter_add(const float* src, std::int64_t stride, std::int64_t n, float* x) {
  const std::int64_t s = STRIDE ? STRIDE : stride;
  for (std::int64_t i = 0; i < n; ++i) x[i * s] += src[i];
}

template <std::int64_t STRIDE>
void im2col_taps(const float* x, std::int64_t channels, const ConvGeometry& g, float* cols,
                 std::int64_t ld) {
  const std::int64_t wo = g.out_w, sw = g.stride_w;
  for_each_tap(channels, g, ld, [&](std::int64_t out, std::int64_t oh_lo, std::int64_t oh_hi,
                                    std::int64_t in, std::int64_t in_step, std::int64_t lo,
                                    std::int64_t hi) {
    float* dst = cols + out;
    std::fill(dst, dst + oh_lo * wo, 0.0f);
    std::fill(dst + oh_hi * wo, dst + g.out_h * wo, 0.0f);
    for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
      float* d = dst + oh * wo;
      for (std::int64_t ow = 0; ow < lo; ++ow) d[ow] = 0.0f;
      // Only taps in [lo, hi) are read: `in` itself may lie before the row (left padding).
      if (hi > lo) gather<STRIDE>(x + (in + oh * in_step + lo * sw), sw, hi - lo, d + lo);
      for (std::int64_t ow = hi; ow < wo; ++ow) d[ow] = 0.0f;
    }
  });
}

template <std::int64_t STRIDE>
void col2im_taps(const float* cols, std::int64_t channels, const ConvGeometry& g,
                 std::int64_t ld, float* dx) {
  const std::int64_t wo = g.out_w, sw = g.stride_w;
  for_each_tap(channels, g, ld, [&](std::int64_t out, std::int64_t oh_lo, std::int64_t oh_hi,
                                    std::int64_t in, std::int64_t in_step, std::int64_t lo,
                                    std::int64_t hi) {
    for (std::int64_t oh = oh_lo; oh < oh_hi && hi > lo; ++oh)
      scatter_add<STRIDE>(cols + out + oh * wo + lo, sw, hi - lo, dx + (in + oh * in_step + lo * sw));
  });
}

}  // namespace

void ConvGeometry::compute_output_size() {
  out_h = (height + 2 * pad_h - dilation_h * (kernel_h - 1) - 1) / stride_h + 1;
  out_w = (width + 2 * pad_w - dilation_w * (kernel_w - 1) - 1) / stride_w + 1;
}

bool ConvGeometry::is_pointwise() const {
  return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 &&
         pad_w == 0;
}

namespace {

// Stride 1 with out_w == width ("same" width): consecutive output rows of one tap read
// consecutive input rows at a fixed offset, so the tap's whole column row is one block copy;
// the copied pixels that belong to a neighbouring row (where the tap is in the padding) are
// zeroed afterwards.
void im2col_same_width(const float* x, std::int64_t channels, const ConvGeometry& g,
                       float* cols, std::int64_t ld) {
  const std::int64_t w = g.width, p = g.out_plane();
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t ki = 0; ki < g.kernel_h; ++ki)
      for (std::int64_t kj = 0; kj < g.kernel_w; ++kj) {
        float* dst = cols + ((c * g.kernel_h + ki) * g.kernel_w + kj) * ld;
        const std::int64_t off_h = ki * g.dilation_h - g.pad_h, off_w = kj * g.dilation_w - g.pad_w;
        std::int64_t oh_lo = 0, oh_hi = 0, lo = 0, hi = 0;
        valid_range(off_h, 1, g.height, g.out_h, oh_lo, oh_hi);
        valid_range(off_w, 1, w, w, lo, hi);
        if (oh_hi <= oh_lo || hi <= lo) {
          std::fill(dst, dst + p, 0.0f);
          continue;
        }
        std::fill(dst, dst + oh_lo * w, 0.0f);
        std::fill(dst + oh_hi * w, dst + p, 0.0f);
        // dst[i] = x_c[i + off_h*W + off_w] for i in [first, last): all inside the plane.
        const std::int64_t first = oh_lo * w + lo, last = (oh_hi - 1) * w + hi;
        std::memcpy(dst + first, x + c * g.in_plane() + first + off_h * w + off_w,
                    sizeof(float) * static_cast<std::size_t>(last - first));
        for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          std::fill(dst + oh * w, dst + oh * w + lo, 0.0f);
          std::fill(dst + oh * w + hi, dst + (oh + 1) * w, 0.0f);
        }
      }
}

}  // namespace

void im2col(const float* x, std::int64_t channels, const ConvGeometry& g, float* cols,
            std::int64_t ld) {
  if (g.stride_h == 1 && g.stride_w == 1 && g.out_w == g.width) {
    im2col_same_width(x, channels, g, cols, ld);
    return;
  }
  if (g.stride_w == 1) im2col_taps<1>(x, channels, g, cols, ld);
  else if (g.stride_w == 2) im2col_taps<2>(x, channels, g, cols, ld);
  else im2col_taps<0>(x, channels, g, cols, ld);
}

void col2im(const float* cols, std::int64_t channels, const ConvGeometry& g, std::int64_t ld,
            float* dx) {
  if (g.stride_w == 1) col2im_taps<1>(cols, channels, g, ld, dx);
  else if (g.stride_w == 2) col2im_taps<2>(cols, channels, g, ld, dx);
  else col2im_taps<0>(cols, channels, g, ld, dx);
}

}  // namespace tg::kernels
