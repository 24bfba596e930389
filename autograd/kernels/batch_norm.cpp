#include "autograd/kernels/batch_norm.hpp"

#include <algorithm>

#include "autograd/threads.hpp"

namespace tg::kernels {

namespace {

// Calls fn(row, channel) for every contiguous row x[(i*C + c)*S .. +S) of channel c.
template <class Fn>
void for_each_row_of(const BatchNormShape& sh, std::int64_t c, Fn fn) {
  for (std::int64_t i = 0; i < sh.n; ++i) fn((i * sh.c + c) * sh.s);
}

// Parallel over channels, enough channels per task to be worth a thread.
template <class Fn>
void for_channels(const BatchNormShape& sh, Fn fn) {
  const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, sh.per_channel()));
  parallel_for(sh.c, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t c = begin; c < end; ++c) fn(c);
  });
}

// Row sums, vectorised: `omp simd reduction` lets the compiler reassociate the additions,
// which it may not do for a plain loop. A row is one channel of one image (H*W values), short
// enough for float partial sums; the sums over rows are kept in double.
float row_sum(const float* x, std::int64_t n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (std::int64_t j = 0; j < n; ++j) s += x[j];
  return s;
}

float row_squared_deviation(const float* x, std::int64_t n, float m) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (std::int64_t j = 0; j < n; ++j) s += (x[j] - m) * (x[j] - m);
  return s;
}

// Sums of gy and gy * xhat over a row, xhat = (x - m) * is.
void row_grad_sums(const float* gy, const float* x, std::int64_t n, float m, float is,
                   double& sum_gy, double& sum_gy_xhat) {
  float a = 0.0f, b = 0.0f;
#pragma omp simd reduction(+ : a, b)
  for (std::int64_t j = 0; j < n; ++j) {
    a += gy[j];
    b += gy[j] * ((x[j] - m) * is);
  }
  sum_gy += a;
  sum_gy_xhat += b;
}

}  // namespace

void batch_norm_stats(const float* x, const BatchNormShape& sh, float* mean, float* var) {
  const auto count = static_cast<double>(sh.per_channel());
  for_channels(sh, [&](std::int64_t c) {
    double sum = 0.0;
    for_each_row_of(sh, c, [&](std::int64_t row) { sum += row_sum(x + row, sh.s); });
    const double m = sum / count;
    double sq = 0.0;  // second pass: no cancellation for data with a large mean
    for_each_row_of(sh, c, [&](std::int64_t row) {
      sq += row_squared_deviation(x + row, sh.s, static_cast<float>(m));
    });
    mean[c] = static_cast<float>(m);
    var[c] = static_cast<float>(sq / count);
  });
}

void batch_norm_apply(const float* x, const BatchNormShape& sh, const float* mean,
                      const float* invstd, const float* weight, const float* bias, float* y) {
  const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, sh.s));
  parallel_for(sh.n * sh.c, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const std::int64_t c = r % sh.c;
      // y = x * scale + shift with the channel's statistics and affine parameters folded in
      const float scale = invstd[c] * (weight ? weight[c] : 1.0f);
      const float shift = (bias ? bias[c] : 0.0f) - mean[c] * scale;
      const float* xr = x + r * sh.s;
      float* yr = y + r * sh.s;
      for (std::int64_t j = 0; j < sh.s; ++j) yr[j] = xr[j] * scale + shift;
    }
  });
}

void batch_norm_backward(const float* gy, const float* x, const BatchNormShape& sh,
                         const float* mean, const float* invstd, const float* weight,
                         bool training, float* gx, float* gw, float* gb) {
  const auto count = static_cast<double>(sh.per_channel());
  for_channels(sh, [&](std::int64_t c) {
    const float m = mean[c], is = invstd[c];
    double sum_gy = 0.0, sum_gy_xhat = 0.0;
    for_each_row_of(sh, c, [&](std::int64_t row) {
      row_grad_sums(gy + row, x + row, sh.s, m, is, sum_gy, sum_gy_xhat);
    });
    if (gb) gb[c] = static_cast<float>(sum_gy);
    if (gw) gw[c] = static_cast<float>(sum_gy_xhat);
    if (!gx) return;
    const float scale = is * (weight ? weight[c] : 1.0f);
    const auto mean_gy = training ? static_cast<float>(sum_gy / count) : 0.0f;
    const auto mean_gy_xhat = training ? static_cast<float>(sum_gy_xhat / count) : 0.0f;
    for_each_row_of(sh, c, [&](std::int64_t row) {
      for (std::int64_t j = 0; j < sh.s; ++j) {
        const float xhat = (x[row + j] - m) * is;
        gx[row + j] = scale * (gy[row + j] - mean_gy - xhat * mean_gy_xhat);
      }
    });
  });
}

}  // namespace tg::kernels
