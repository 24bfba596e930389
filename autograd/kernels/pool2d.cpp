#include "autograd/kernels/pool2d.hpp"

#include <algorithm>
#include <cmath>

#include "autograd/threads.hpp"

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

template <bool Minimum>
void extremum_plane(const float* x, float* y, std::int32_t* index, const PoolGeometry& g) {
  for (std::int64_t oh = 0; oh < g.out_h; ++oh)
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      const Window w = window_at(g, oh, ow);
      std::int64_t best_at = w.h0 * g.width + w.w0;
      float best = x[best_at];
      for (std::int64_t ih = w.h0; ih < w.h1; ++ih)
        for (std::int64_t iw = w.w0; iw < w.w1; ++iw) {
          const float v = x[ih * g.width + iw];
          // Strict comparison keeps the first extremum; NaN propagates as in PyTorch.
          if ((Minimum ? v < best : v > best) || std::isnan(v)) {
            best = v;
            best_at = ih * g.width + iw;
          }
        }
      y[oh * g.out_w + ow] = best;
      if (index) index[oh * g.out_w + ow] = static_cast<std::int32_t>(best_at);
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
  for_each_plane(g, [&](std::int64_t in, std::int64_t out) {
    std::int32_t* idx = index ? index + out : nullptr;
    if (minimum)
      extremum_plane<true>(x + in, y + out, idx, g);
    else
      extremum_plane<false>(x + in, y + out, idx, g);
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
