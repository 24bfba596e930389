#include "tapegrad/autograd/kernels/batch_norm.hpp"

#include <algorithm>
#include <cmath>

#include "tapegrad/autograd/kernels/relu.hpp"
#include "tapegrad/autograd/threads.hpp"

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

// Sums of d and d * d over a row, d = x - shift.
void row_shifted_sums(const float* x, std::int64_t n, float shift, double& sum, double& squares) {
  float s = 0.0f, q = 0.0f;
#pragma omp simd reduction(+ : s, q)
  for (std::int64_t j = 0; j < n; ++j) {
    const float d = x[j] - shift;
    s += d;
    q += d * d;
  }
  sum += s;
  squares += q;
}

// Sums of gy and gy * xhat over a row, xhat = (x - m) * is; gy counts only where the fused
// ReLU lets it through (relu_grad) when relu_out is given.
void row_grad_sums(const float* gy, const float* x, const float* relu_out, std::int64_t n,
                   float m, float is, double& sum_gy, double& sum_gy_xhat) {
  float a = 0.0f, b = 0.0f;
  if (relu_out) {
#pragma omp simd reduction(+ : a, b)
    for (std::int64_t j = 0; j < n; ++j) {
      const float g = relu_grad(gy[j], relu_out[j]);
      a += g;
      b += g * ((x[j] - m) * is);
    }
  } else {
#pragma omp simd reduction(+ : a, b)
    for (std::int64_t j = 0; j < n; ++j) {
      a += gy[j];
      b += gy[j] * ((x[j] - m) * is);
    }
  }
  sum_gy += a;
  sum_gy_xhat += b;
}

// gx = scale * (g - mean_gy - xhat * mean_gy_xhat) over a row, g = gy masked by the fused
// ReLU's output when given. Two loops, so that each vectorises without a test per element.
void grad_row(const float* gy, const float* x, const float* relu_out, std::int64_t n, float m,
              float is, float scale, float mean_gy, float mean_gy_xhat, float* gx) {
  if (relu_out) {
#pragma omp simd
    for (std::int64_t j = 0; j < n; ++j) {
      const float g = relu_grad(gy[j], relu_out[j]);
      gx[j] = scale * (g - mean_gy - (x[j] - m) * is * mean_gy_xhat);
    }
  } else {
#pragma omp simd
    for (std::int64_t j = 0; j < n; ++j) gx[j] = scale * (gy[j] - mean_gy - (x[j] - m) * is * mean_gy_xhat);
  }
}

// y = x * scale + shift over a row, clamped at 0 for a fused ReLU.
void apply_row(const float* x, std::int64_t n, float scale, float shift, bool relu, float* y) {
  if (relu)
    for (std::int64_t j = 0; j < n; ++j) y[j] = relu_value(x[j] * scale + shift);
  else
    for (std::int64_t j = 0; j < n; ++j) y[j] = x[j] * scale + shift;
}

// One channel's mean and biased variance in one pass over it: sums of d = x - shift and of
// d * d, the shift being the mean of the channel's first row. E[d^2] - E[d]^2 cancels only as
// far as the shift misses the mean, not the mean itself: data with a large mean keep their
// digits, and the channel is read once less than with two passes (batch norm is memory-bound).
// A first row far from the rest (an image whose channel the ReLU silenced, before data with a
// large mean) would cancel again: then a second pass sums the squared deviations.
void channel_stats(const float* x, const BatchNormShape& sh, std::int64_t c, float& mean,
                   float& var) {
  const auto count = static_cast<double>(sh.per_channel());
  const float shift = row_sum(x + c * sh.s, sh.s) / static_cast<float>(sh.s);
  double sum = 0.0, squares = 0.0;
  for_each_row_of(sh, c, [&](std::int64_t row) { row_shifted_sums(x + row, sh.s, shift, sum, squares); });
  const double mean_d = sum / count, var_d = std::max(0.0, squares / count - mean_d * mean_d);
  mean = static_cast<float>(shift + mean_d);
  // The cancellation multiplies float rounding by 1 + mean_d^2 / var: keep that under 17.
  if (mean_d * mean_d <= 16.0 * var_d) {
    var = static_cast<float>(var_d);
    return;
  }
  double sq = 0.0;
  for_each_row_of(sh, c, [&](std::int64_t row) { sq += row_squared_deviation(x + row, sh.s, mean); });
  var = static_cast<float>(sq / count);
}

// The affine map of channel c: y = x * scale + shift.
void channel_affine(std::int64_t c, const float* mean, const float* invstd, const float* weight,
                    const float* bias, float& scale, float& shift) {
  scale = invstd[c] * (weight ? weight[c] : 1.0f);
  shift = (bias ? bias[c] : 0.0f) - mean[c] * scale;
}

}  // namespace

void batch_norm_apply(const float* x, const BatchNormShape& sh, const float* mean,
                      const float* invstd, const float* weight, const float* bias, bool relu,
                      float* y) {
  const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, sh.s));
  parallel_for(sh.n * sh.c, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      float scale = 0.0f, shift = 0.0f;
      channel_affine(r % sh.c, mean, invstd, weight, bias, scale, shift);
      apply_row(x + r * sh.s, sh.s, scale, shift, relu, y + r * sh.s);
    }
  });
}

void batch_norm_train_forward(const float* x, const BatchNormShape& sh, float eps,
                              const float* weight, const float* bias, bool relu, float* mean,
                              float* var, float* invstd, float* y) {
  for_channels(sh, [&](std::int64_t c) {
    channel_stats(x, sh, c, mean[c], var[c]);
    invstd[c] = 1.0f / std::sqrt(var[c] + eps);
    float scale = 0.0f, shift = 0.0f;
    channel_affine(c, mean, invstd, weight, bias, scale, shift);
    for_each_row_of(sh, c, [&](std::int64_t row) { apply_row(x + row, sh.s, scale, shift, relu, y + row); });
  });
}

void batch_norm_backward(const float* gy, const float* x, const BatchNormShape& sh,
                         const float* mean, const float* invstd, const float* weight,
                         bool training, const float* relu_output, float* gx, float* gw,
                         float* gb) {
  const auto count = static_cast<double>(sh.per_channel());
  for_channels(sh, [&](std::int64_t c) {
    const float m = mean[c], is = invstd[c];
    double sum_gy = 0.0, sum_gy_xhat = 0.0;
    for_each_row_of(sh, c, [&](std::int64_t row) {
      row_grad_sums(gy + row, x + row, relu_output ? relu_output + row : nullptr, sh.s, m, is,
                    sum_gy, sum_gy_xhat);
    });
    if (gb) gb[c] = static_cast<float>(sum_gy);
    if (gw) gw[c] = static_cast<float>(sum_gy_xhat);
    if (!gx) return;
    const float scale = is * (weight ? weight[c] : 1.0f);
    const auto mean_gy = training ? static_cast<float>(sum_gy / count) : 0.0f;
    const auto mean_gy_xhat = training ? static_cast<float>(sum_gy_xhat / count) : 0.0f;
    for_each_row_of(sh, c, [&](std::int64_t row) {
      grad_row(gy + row, x + row, relu_output ? relu_output + row : nullptr, sh.s, m, is, scale,
               mean_gy, mean_gy_xhat, gx + row);
    });
  });
}

}  // namespace tg::kernels
