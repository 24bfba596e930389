#include "tapegrad/autograd/kernels/pool2d.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tapegrad/autograd/threads.hpp"

namespace tg::kernels {

namespace {

// Enough planes per task that a thread's share outweighs the cost of waking it.
std::int64_t plane_grain(const PoolGeometry& g) {
  return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, g.in_plane()));
}

// One window clipped to the input: rows [h0, h1), columns [w0, w1).
struct Window {
  std::int64_t h0, h1, w0, w1;
};

Window window_at(const PoolGeometry& g, std::int64_t oh, std::int64_t ow) {
  const std::int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
  return {std::max<std::int64_t>(h0, 0), std::min(h0 + g.kernel_h, g.height),
          std::max<std::int64_t>(w0, 0), std::min(w0 + g.kernel_w, g.width)};
}

// PyTorch's avg_pool2d divisor: with count_include_pad, the window clipped to the padded input.
std::int64_t avg_divisor(const PoolGeometry& g, std::int64_t oh, std::int64_t ow, const Window& w,
                         bool count_include_pad) {
  if (!count_include_pad) return (w.h1 - w.h0) * (w.w1 - w.w0);
  const std::int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
  const std::int64_t h1 = std::min(h0 + g.kernel_h, g.height + g.pad_h);
  const std::int64_t w1 = std::min(w0 + g.kernel_w, g.width + g.pad_w);
  return (h1 - h0) * (w1 - w0);
}

// Output columns [lo, hi) whose window reaches input column ow*stride + kj - pad_w, per kj:
// computed once per call (two divisions per tap and row cost more than a 14-wide row's work).
struct TapColumns {
  std::int64_t lo, hi;
};

std::vector<TapColumns> tap_columns(const PoolGeometry& g) {
  std::vector<TapColumns> taps(static_cast<std::size_t>(g.kernel_w));
  for (std::int64_t kj = 0; kj < g.kernel_w; ++kj) {
    const std::int64_t off = kj - g.pad_w;
    taps[kj].lo = off >= 0 ? 0 : (-off + g.stride_w - 1) / g.stride_w;
    taps[kj].hi = std::min(g.out_w, (g.width - off + g.stride_w - 1) / g.stride_w);
  }
  return taps;
}

// One tap over an output row: best[ow] against row[ow*stride + off]. Strict comparison keeps the
// first extremum; NaN propagates as in PyTorch. Selects, not branches: on real data the outcome
// is a coin flip the predictor would miss. (A stride fixed at 2 at compile time made GCC's code
// 2.2x slower on [64, 16, 32, 32]: measured.)
template <bool Minimum>
void extremum_tap(const float* x, std::int64_t row_start, std::int64_t stride, std::int64_t off,
                  TapColumns cols, float* best, std::int32_t* at) {
  for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) {
    const std::int64_t pos = row_start + ow * stride + off;
    const float v = x[pos];
    const bool take = (Minimum ? v < best[ow] : v > best[ow]) || v != v;
    best[ow] = take ? v : best[ow];
    at[ow] = take ? static_cast<std::int32_t>(pos) : at[ow];
  }
}

// Window (oh, ow) covers rows [oh*sh - ph, +kh) and columns [ow*sw - pw, +kw). The loops run
// tap by tap over a whole output row, so the inner loop is over ow (no per-window bounds), and
// keep the tap order within each window row-major so that the first extremum wins.
template <bool Minimum>
void extremum_plane(const float* x, float* y, std::int32_t* index, const PoolGeometry& g,
                    const std::vector<TapColumns>& taps, std::int32_t* at) {
  const float init = Minimum ? std::numeric_limits<float>::infinity()
                             : -std::numeric_limits<float>::infinity();
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    const std::int64_t h0 = oh * g.stride_h - g.pad_h;
    const std::int64_t ih_lo = std::max<std::int64_t>(h0, 0);
    const std::int64_t ih_hi = std::min(h0 + g.kernel_h, g.height);
    float* best = y + oh * g.out_w;
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      best[ow] = init;  // PyTorch's start: -inf at the window's first cell
      at[ow] = static_cast<std::int32_t>(ih_lo * g.width +
                                         std::max<std::int64_t>(ow * g.stride_w - g.pad_w, 0));
    }
    for (std::int64_t ih = ih_lo; ih < ih_hi; ++ih)
      for (std::int64_t kj = 0; kj < g.kernel_w; ++kj) {
        extremum_tap<Minimum>(x, ih * g.width, g.stride_w, kj - g.pad_w, taps[kj], best, at);
      }
    if (index) std::copy(at, at + g.out_w, index + oh * g.out_w);
  }
}

// The usual pooling, 2x2 windows at stride 2 without padding: each window's four cells in
// registers, in PyTorch's order (row-major, -inf start, strict comparison, NaN wins), instead of
// the generic tap-by-tap sweep through memory (max_pool2d fwd+bwd on [64, 16, 32, 32]: 0.50x
// the time; the SimpleCNN training step 0.92x; measured).
bool is_plain_2x2(const PoolGeometry& g) {
  // ceil_mode can add a last window that hangs over the edge: not this path.
  return g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_h == 0 &&
         g.pad_w == 0 && 2 * g.out_h <= g.height && 2 * g.out_w <= g.width;
}

template <bool Minimum>
void extremum_plane_2x2(const float* x, float* y, std::int32_t* index, const PoolGeometry& g) {
  const float init = Minimum ? std::numeric_limits<float>::infinity()
                             : -std::numeric_limits<float>::infinity();
  for (std::int64_t oh = 0; oh < g.out_h; ++oh)
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      const std::int64_t first = 2 * oh * g.width + 2 * ow;
      const std::int64_t cells[4] = {first, first + 1, first + g.width, first + g.width + 1};
      float best = init;
      std::int64_t at = first;
      for (const std::int64_t pos : cells) {
        const float v = x[pos];
        const bool take = (Minimum ? v < best : v > best) || v != v;
        best = take ? v : best;
        at = take ? pos : at;
      }
      y[oh * g.out_w + ow] = best;
      if (index) index[oh * g.out_w + ow] = static_cast<std::int32_t>(at);
    }
}

// Adaptive window [floor(i*size/n), ceil((i+1)*size/n)).
std::int64_t adaptive_start(std::int64_t i, std::int64_t size, std::int64_t n) {
  return i * size / n;
}
std::int64_t adaptive_end(std::int64_t i, std::int64_t size, std::int64_t n) {
  return ((i + 1) * size + n - 1) / n;
}

Window adaptive_window(const PoolGeometry& g, std::int64_t oh, std::int64_t ow) {
  return {adaptive_start(oh, g.height, g.out_h), adaptive_end(oh, g.height, g.out_h),
          adaptive_start(ow, g.width, g.out_w), adaptive_end(ow, g.width, g.out_w)};
}

float window_sum(const float* x, std::int64_t width, const Window& w) {
  float s = 0.0f;
  for (std::int64_t ih = w.h0; ih < w.h1; ++ih)
    for (std::int64_t iw = w.w0; iw < w.w1; ++iw) s += x[ih * width + iw];
  return s;
}

void window_add(float* gx, std::int64_t width, const Window& w, float v) {
  for (std::int64_t ih = w.h0; ih < w.h1; ++ih)
    for (std::int64_t iw = w.w0; iw < w.w1; ++iw) gx[ih * width + iw] += v;
}

// Runs plane_fn(x_plane, y_plane, p) over all planes in parallel.
template <class PlaneFn>
void for_each_plane(const PoolGeometry& g, PlaneFn plane_fn) {
  parallel_for(g.planes, plane_grain(g), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) plane_fn(p * g.in_plane(), p * g.out_plane());
  });
}

}  // namespace

std::int64_t pool_output_size(std::int64_t size, std::int64_t kernel, std::int64_t stride,
                              std::int64_t pad, bool ceil_mode) {
  const std::int64_t span = size + 2 * pad - kernel + (ceil_mode ? stride - 1 : 0);
  // Floor division that rounds toward -inf, so that a too-small input gives a size <= 0.
  const std::int64_t q = span >= 0 ? span / stride : -((-span + stride - 1) / stride);
  std::int64_t out = q + 1;
  if (ceil_mode && (out - 1) * stride >= size + pad) --out;
  return out;
}

void extremum_pool2d_forward(const float* x, float* y, std::int32_t* index, const PoolGeometry& g,
                             bool minimum) {
  parallel_for(g.planes, plane_grain(g), [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::int32_t> at(static_cast<std::size_t>(g.out_w));
    const std::vector<TapColumns> taps = tap_columns(g);
    for (std::int64_t p = begin; p < end; ++p) {
      const float* xp = x + p * g.in_plane();
      float* yp = y + p * g.out_plane();
      std::int32_t* ip = index ? index + p * g.out_plane() : nullptr;
      if (is_plain_2x2(g) && minimum)
        extremum_plane_2x2<true>(xp, yp, ip, g);
      else if (is_plain_2x2(g))
        extremum_plane_2x2<false>(xp, yp, ip, g);
      else if (minimum)
        extremum_plane<true>(xp, yp, ip, g, taps, at.data());
      else
        extremum_plane<false>(xp, yp, ip, g, taps, at.data());
    }
  });
}

void extremum_pool2d_backward(const float* gy, const std::int32_t* index, float* gx,
                              const PoolGeometry& g) {
  for_each_plane(g, [&](std::int64_t in, std::int64_t out) {
    std::fill(gx + in, gx + in + g.in_plane(), 0.0f);
    for (std::int64_t o = 0; o < g.out_plane(); ++o) gx[in + index[out + o]] += gy[out + o];
  });
}

void avg_pool2d_forward(const float* x, float* y, const PoolGeometry& g, bool count_include_pad) {
  for_each_plane(g, [&](std::int64_t in, std::int64_t out) {
    for (std::int64_t oh = 0; oh < g.out_h; ++oh)
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window w = window_at(g, oh, ow);
        const auto divisor = static_cast<float>(avg_divisor(g, oh, ow, w, count_include_pad));
        y[out + oh * g.out_w + ow] = window_sum(x + in, g.width, w) / divisor;
      }
  });
}

void avg_pool2d_backward(const float* gy, float* gx, const PoolGeometry& g,
                         bool count_include_pad) {
  for_each_plane(g, [&](std::int64_t in, std::int64_t out) {
    std::fill(gx + in, gx + in + g.in_plane(), 0.0f);
    for (std::int64_t oh = 0; oh < g.out_h; ++oh)
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window w = window_at(g, oh, ow);
        const auto divisor = static_cast<float>(avg_divisor(g, oh, ow, w, count_include_pad));
        window_add(gx + in, g.width, w, gy[out + oh * g.out_w + ow] / divisor);
      }
  });
}

void adaptive_avg_pool2d_forward(const float* x, float* y, const PoolGeometry& g) {
  for_each_plane(g, [&](std::int64_t in, std::int64_t out) {
    for (std::int64_t oh = 0; oh < g.out_h; ++oh)
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window w = adaptive_window(g, oh, ow);
        const auto count = static_cast<float>((w.h1 - w.h0) * (w.w1 - w.w0));
        y[out + oh * g.out_w + ow] = window_sum(x + in, g.width, w) / count;
      }
  });
}

void adaptive_avg_pool2d_backward(const float* gy, float* gx, const PoolGeometry& g) {
  for_each_plane(g, [&](std::int64_t in, std::int64_t out) {
    std::fill(gx + in, gx + in + g.in_plane(), 0.0f);
    for (std::int64_t oh = 0; oh < g.out_h; ++oh)
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window w = adaptive_window(g, oh, ow);
        const auto count = static_cast<float>((w.h1 - w.h0) * (w.w1 - w.w0));
        window_add(gx + in, g.width, w, gy[out + oh * g.out_w + ow] / count);
      }
  });
}

}  // namespace tg::kernels
