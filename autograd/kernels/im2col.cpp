#include "tapegrad/autograd/kernels/im2col.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

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

// Zeroes row[0, lo) and row[hi, w): a pixel at each padded edge, mostly, written directly (a
// memset call per row cost more than the row's copy for 7-28 pixel rows).
void zero_edges(float* row, std::int64_t lo, std::int64_t hi, std::int64_t w) {
  if (lo == 1) row[0] = 0.0f;
  else if (lo > 1) std::fill(row, row + lo, 0.0f);
  if (hi == w - 1) row[hi] = 0.0f;
  else if (hi < w - 1) std::fill(row + hi, row + w, 0.0f);
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
      // Only taps in [lo, hi) are read: `in` itself may lie before the row (left padding).
      if (hi > lo) gather<STRIDE>(x + (in + oh * in_step + lo * sw), sw, hi - lo, d + lo);
      zero_edges(d, lo, hi, wo);
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

// dst [out_rows, w] = the plane [rows, w] shifted by (off_h, off_w), 0 where that falls outside
// it. Consecutive output rows read consecutive plane rows at a fixed offset, so the valid part
// is one block copy; the copied pixels that belong to a neighbouring row are zeroed afterwards.
void shifted_plane(const float* plane, std::int64_t rows, std::int64_t w, std::int64_t out_rows,
                   std::int64_t off_h, std::int64_t off_w, float* dst) {
  const std::int64_t p = out_rows * w;
  std::int64_t oh_lo = 0, oh_hi = 0, lo = 0, hi = 0;
  valid_range(off_h, 1, rows, out_rows, oh_lo, oh_hi);
  valid_range(off_w, 1, w, w, lo, hi);
  if (oh_hi <= oh_lo || hi <= lo) {
    std::fill(dst, dst + p, 0.0f);
    return;
  }
  std::fill(dst, dst + oh_lo * w, 0.0f);
  std::fill(dst + oh_hi * w, dst + p, 0.0f);
  // dst[i] = plane[i + off_h*w + off_w] for i in [first, last): all inside the plane.
  const std::int64_t first = oh_lo * w + lo, last = (oh_hi - 1) * w + hi;
  std::memcpy(dst + first, plane + first + off_h * w + off_w,
              sizeof(float) * static_cast<std::size_t>(last - first));
  if (lo > 0 || hi < w)
    for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) zero_edges(dst + oh * w, lo, hi, w);
}

// The adjoint of shifted_plane: plane[oh + off_h][ow + off_w] += src[oh][ow] where inside.
void add_shifted_plane(const float* src, std::int64_t rows, std::int64_t w, std::int64_t out_rows,
                       std::int64_t off_h, std::int64_t off_w, float* plane) {
  std::int64_t oh_lo = 0, oh_hi = 0, lo = 0, hi = 0;
  valid_range(off_h, 1, rows, out_rows, oh_lo, oh_hi);
  valid_range(off_w, 1, w, w, lo, hi);
  for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
    const float* s = src + oh * w;
    float* d = plane + (oh + off_h) * w + off_w;
    for (std::int64_t ow = lo; ow < hi; ++ow) d[ow] += s[ow];
  }
}

// Stride 1 with out_w == width ("same" width): every tap's column row is the image plane
// shifted.
void im2col_same_width(const float* x, std::int64_t channels, const ConvGeometry& g,
                       float* cols, std::int64_t ld) {
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t ki = 0; ki < g.kernel_h; ++ki)
      for (std::int64_t kj = 0; kj < g.kernel_w; ++kj)
        shifted_plane(x + c * g.in_plane(), g.height, g.width, g.out_h,
                      ki * g.dilation_h - g.pad_h, kj * g.dilation_w - g.pad_w,
                      cols + ((c * g.kernel_h + ki) * g.kernel_w + kj) * ld);
}

// Stride 2 on an image of twice the output's sides (3x3 with padding 1 on an even side: the
// ResNets' downsampling). Input pixel (2i + r, 2j + s) is pixel (i, j) of phase plane (r, s),
// each plane [out_h, out_w]; a tap reads one phase plane shifted, so its column row is a block
// copy, not 7-14 pixel rows gathered at stride 2 (Zen 3: 2-3x faster). A 1x1 kernel reads one
// phase of four: there the gather at stride 2 is faster.
bool phase_split_applies(const ConvGeometry& g) {
  return g.kernel_h * g.kernel_w > 1 && g.stride_h == 2 && g.stride_w == 2 &&
         g.dilation_h == 1 && g.dilation_w == 1 &&
         g.height == 2 * g.out_h && g.width == 2 * g.out_w;
}

// A tap at input offset t (= k - pad) reads phase t mod 2 shifted by floor(t / 2).
std::int64_t phase_of(std::int64_t t) { return t & 1; }
std::int64_t phase_shift(std::int64_t t) { return (t - (t & 1)) / 2; }

// phases [4, out_h, out_w] of channel plane x [2 out_h, 2 out_w], phase index 2r + s.
void split_phases(const float* x, const ConvGeometry& g, float* phases) {
  const std::int64_t h2 = g.out_h, w2 = g.out_w, q = h2 * w2;
  for (std::int64_t i = 0; i < h2; ++i)
    for (std::int64_t r = 0; r < 2; ++r) {
      const float* row = x + (2 * i + r) * g.width;
      float* even = phases + 2 * r * q + i * w2;
      float* odd = even + q;
      for (std::int64_t j = 0; j < w2; ++j) {
        even[j] = row[2 * j];
        odd[j] = row[2 * j + 1];
      }
    }
}

// The adjoint of split_phases: adds the phase planes back onto the channel plane dx.
void merge_phases(const float* phases, const ConvGeometry& g, float* dx) {
  const std::int64_t h2 = g.out_h, w2 = g.out_w, q = h2 * w2;
  for (std::int64_t i = 0; i < h2; ++i)
    for (std::int64_t r = 0; r < 2; ++r) {
      float* row = dx + (2 * i + r) * g.width;
      const float* even = phases + 2 * r * q + i * w2;
      const float* odd = even + q;
      for (std::int64_t j = 0; j < w2; ++j) {
        row[2 * j] += even[j];
        row[2 * j + 1] += odd[j];
      }
    }
}

void im2col_phases(const float* x, std::int64_t channels, const ConvGeometry& g, float* cols,
                   std::int64_t ld) {
  const std::int64_t q = g.out_plane();
  std::vector<float> phases(static_cast<std::size_t>(4 * q));
  for (std::int64_t c = 0; c < channels; ++c) {
    split_phases(x + c * g.in_plane(), g, phases.data());
    for (std::int64_t ki = 0; ki < g.kernel_h; ++ki)
      for (std::int64_t kj = 0; kj < g.kernel_w; ++kj) {
        const std::int64_t th = ki - g.pad_h, tw = kj - g.pad_w;
        shifted_plane(phases.data() + (2 * phase_of(th) + phase_of(tw)) * q, g.out_h, g.out_w,
                      g.out_h, phase_shift(th), phase_shift(tw),
                      cols + ((c * g.kernel_h + ki) * g.kernel_w + kj) * ld);
      }
  }
}

void col2im_phases(const float* cols, std::int64_t channels, const ConvGeometry& g,
                   std::int64_t ld, float* dx) {
  const std::int64_t q = g.out_plane();
  std::vector<float> phases(static_cast<std::size_t>(4 * q));
  for (std::int64_t c = 0; c < channels; ++c) {
    std::fill(phases.begin(), phases.end(), 0.0f);
    for (std::int64_t ki = 0; ki < g.kernel_h; ++ki)
      for (std::int64_t kj = 0; kj < g.kernel_w; ++kj) {
        const std::int64_t th = ki - g.pad_h, tw = kj - g.pad_w;
        add_shifted_plane(cols + ((c * g.kernel_h + ki) * g.kernel_w + kj) * ld, g.out_h,
                          g.out_w, g.out_h, phase_shift(th), phase_shift(tw),
                          phases.data() + (2 * phase_of(th) + phase_of(tw)) * q);
      }
    merge_phases(phases.data(), g, dx + c * g.in_plane());
  }
}

}  // namespace

void im2col(const float* x, std::int64_t channels, const ConvGeometry& g, float* cols,
            std::int64_t ld) {
  if (g.stride_h == 1 && g.stride_w == 1 && g.out_w == g.width) {
    im2col_same_width(x, channels, g, cols, ld);
    return;
  }
  if (phase_split_applies(g)) {
    im2col_phases(x, channels, g, cols, ld);
    return;
  }
  if (g.stride_w == 1) im2col_taps<1>(x, channels, g, cols, ld);
  else if (g.stride_w == 2) im2col_taps<2>(x, channels, g, cols, ld);
  else im2col_taps<0>(x, channels, g, cols, ld);
}

void col2im(const float* cols, std::int64_t channels, const ConvGeometry& g, std::int64_t ld,
            float* dx) {
  if (phase_split_applies(g)) {
    col2im_phases(cols, channels, g, ld, dx);
    return;
  }
  if (g.stride_w == 1) col2im_taps<1>(cols, channels, g, ld, dx);
  else if (g.stride_w == 2) col2im_taps<2>(cols, channels, g, ld, dx);
  else col2im_taps<0>(cols, channels, g, ld, dx);
}

}  // namespace tg::kernels
