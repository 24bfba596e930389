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

// Walks every (channel, kernel tap, output row) of the unfolding and hands `row_fn` the matching
// column row, the input row (nullptr in the padding) and the valid output range, so that im2col
// and col2im share one traversal and differ only in the direction of the copy.
template <class RowFn>
void for_each_row(std::int64_t channels, const ConvGeometry& g, std::int64_t ld, RowFn row_fn) {
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t ki = 0; ki < g.kernel_h; ++ki)
      for (std::int64_t kj = 0; kj < g.kernel_w; ++kj) {
        const std::int64_t row = (c * g.kernel_h + ki) * g.kernel_w + kj;
        const std::int64_t off_w = kj * g.dilation_w - g.pad_w;
        std::int64_t lo = 0, hi = 0;
        valid_range(off_w, g.stride_w, g.width, g.out_w, lo, hi);
        for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
          const std::int64_t ih = oh * g.stride_h - g.pad_h + ki * g.dilation_h;
          const bool inside = ih >= 0 && ih < g.height;
          // in_row[ow * stride_w] is the tap of output column ow (valid for ow in [lo, hi)).
          const std::int64_t in_offset = (c * g.height + ih) * g.width + off_w;
          row_fn(row * ld + oh * g.out_w, inside, in_offset, lo, hi);
        }
      }
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
  const std::int64_t sw = g.stride_w, wo = g.out_w;
  for_each_row(channels, g, ld, [&](std::int64_t out, bool inside, std::int64_t in,
                                    std::int64_t lo, std::int64_t hi) {
    float* dst = cols + out;
    if (!inside) {
      std::fill(dst, dst + wo, 0.0f);
      return;
    }
    // `in` may lie before the row start (left padding); only taps in [lo, hi) are read.
    std::fill(dst, dst + lo, 0.0f);
    if (sw == 1) {
      if (hi > lo) std::copy(x + (in + lo), x + (in + hi), dst + lo);
    } else {
      for (std::int64_t ow = lo; ow < hi; ++ow) dst[ow] = x[in + ow * sw];
    }
    std::fill(dst + hi, dst + wo, 0.0f);
  });
}

void col2im(const float* cols, std::int64_t channels, const ConvGeometry& g, std::int64_t ld,
            float* dx) {
  const std::int64_t sw = g.stride_w;
  for_each_row(channels, g, ld, [&](std::int64_t out, bool inside, std::int64_t in,
                                    std::int64_t lo, std::int64_t hi) {
    if (!inside) return;
    const float* src = cols + out;
    if (sw == 1) {
      float* dst = dx + (in + lo);
      for (std::int64_t i = 0; i < hi - lo; ++i) dst[i] += src[lo + i];
    } else {
      for (std::int64_t ow = lo; ow < hi; ++ow) dx[in + ow * sw] += src[ow];
    }
  });
}

}  // namespace tg::kernels
