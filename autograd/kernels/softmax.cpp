#include "tapegrad/autograd/kernels/softmax.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tapegrad/autograd/threads.hpp"

namespace tg::kernels {

namespace {

std::int64_t grain_for(std::int64_t work_per_item) {
  return std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, work_per_item));
}

// One [dim, inner] block: every inner position is an independent softmax along dim, done
// together so that the loops run over contiguous memory.
void softmax_block(const float* x, float* y, std::int64_t dim, std::int64_t inner, bool log,
                   std::vector<float>& peak, std::vector<float>& total) {
  std::copy(x, x + inner, peak.begin());
  for (std::int64_t d = 1; d < dim; ++d)
    for (std::int64_t j = 0; j < inner; ++j) peak[j] = std::max(peak[j], x[d * inner + j]);
  std::fill(total.begin(), total.end(), 0.0f);
  for (std::int64_t d = 0; d < dim; ++d)
    for (std::int64_t j = 0; j < inner; ++j) {
      const float e = std::exp(x[d * inner + j] - peak[j]);
      y[d * inner + j] = e;
      total[j] += e;
    }
  for (std::int64_t j = 0; j < inner; ++j) total[j] = log ? std::log(total[j]) : 1.0f / total[j];
  for (std::int64_t d = 0; d < dim; ++d)
    for (std::int64_t j = 0; j < inner; ++j) {
      float& v = y[d * inner + j];
      v = log ? x[d * inner + j] - peak[j] - total[j] : v * total[j];
    }
}

void softmax_block_backward(const float* gy, const float* y, float* gx, std::int64_t dim,
                            std::int64_t inner, bool log, std::vector<float>& total) {
  std::fill(total.begin(), total.end(), 0.0f);
  for (std::int64_t d = 0; d < dim; ++d)
    for (std::int64_t j = 0; j < inner; ++j)
      total[j] += log ? gy[d * inner + j] : gy[d * inner + j] * y[d * inner + j];
  for (std::int64_t d = 0; d < dim; ++d)
    for (std::int64_t j = 0; j < inner; ++j) {
      const std::int64_t i = d * inner + j;
      gx[i] = log ? gy[i] - std::exp(y[i]) * total[j] : y[i] * (gy[i] - total[j]);
    }
}

}  // namespace

void softmax_forward(const float* x, float* y, const SoftmaxShape& sh, bool log) {
  if (sh.dim == 0 || sh.inner == 0) return;
  const std::int64_t block = sh.dim * sh.inner;
  parallel_for(sh.outer, grain_for(block), [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> peak(sh.inner), total(sh.inner);
    for (std::int64_t o = begin; o < end; ++o)
      softmax_block(x + o * block, y + o * block, sh.dim, sh.inner, log, peak, total);
  });
}

void softmax_backward(const float* gy, const float* y, float* gx, const SoftmaxShape& sh,
                      bool log) {
  if (sh.dim == 0 || sh.inner == 0) return;
  const std::int64_t block = sh.dim * sh.inner;
  parallel_for(sh.outer, grain_for(block), [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> total(sh.inner);
    for (std::int64_t o = begin; o < end; ++o)
      softmax_block_backward(gy + o * block, y + o * block, gx + o * block, sh.dim, sh.inner, log,
                             total);
  });
}

void cross_entropy_forward(const float* logits, const std::int64_t* labels, std::int64_t n,
                           std::int64_t c, float label_smoothing, float* loss, float* lse) {
  parallel_for(n, grain_for(c), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const float* row = logits + i * c;
      const float peak = *std::max_element(row, row + c);
      double total = 0.0, sum = 0.0;
      for (std::int64_t j = 0; j < c; ++j) {
        total += std::exp(row[j] - peak);
        sum += row[j];
      }
      const double l = peak + std::log(total);
      lse[i] = static_cast<float>(l);
      // -log p_j = lse - x_j, so the smoothed term is lse - mean(x)
      loss[i] = static_cast<float>((1.0 - label_smoothing) * (l - row[labels[i]]) +
                                   label_smoothing * (l - sum / static_cast<double>(c)));
    }
  });
}

void cross_entropy_backward(const float* logits, const std::int64_t* labels, const float* lse,
                            std::int64_t n, std::int64_t c, float label_smoothing,
                            const float* row_scale, bool shared_scale, float* gx) {
  const float uniform = label_smoothing / static_cast<float>(c);
  parallel_for(n, grain_for(c), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const float* row = logits + i * c;
      float* out = gx + i * c;
      const float s = shared_scale ? row_scale[0] : row_scale[i];
      for (std::int64_t j = 0; j < c; ++j) out[j] = s * (std::exp(row[j] - lse[i]) - uniform);
      out[labels[i]] -= s * (1.0f - label_smoothing);
    }
  });
}

namespace {

// log-sum-exp of one row, stable for logits of +-1000.
double row_lse(const float* row, std::int64_t c) {
  const float peak = *std::max_element(row, row + c);
  double total = 0.0;
  for (std::int64_t j = 0; j < c; ++j) total += std::exp(row[j] - peak);
  return peak + std::log(total);
}

}  // namespace

void soft_cross_entropy_forward(const float* logits, const float* target, std::int64_t n,
                                std::int64_t c, float label_smoothing, float* loss, float* lse) {
  const double keep = 1.0 - label_smoothing, uniform = label_smoothing / static_cast<double>(c);
  parallel_for(n, grain_for(c), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const float* row = logits + i * c;
      const float* t = target + i * c;
      const double l = row_lse(row, c);
      double total = 0.0;
      for (std::int64_t j = 0; j < c; ++j) total += (keep * t[j] + uniform) * (l - row[j]);
      lse[i] = static_cast<float>(l);
      loss[i] = static_cast<float>(total);
    }
  });
}

void soft_cross_entropy_backward(const float* logits, const float* target, const float* lse,
                                 std::int64_t n, std::int64_t c, float label_smoothing,
                                 const float* row_scale, bool shared_scale, float* gx, float* gt) {
  const float keep = 1.0f - label_smoothing, uniform = label_smoothing / static_cast<float>(c);
  parallel_for(n, grain_for(c), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const float* row = logits + i * c;
      const float* t = target + i * c;
      const float s = shared_scale ? row_scale[0] : row_scale[i];
      // A target row need not sum to 1 (PyTorch does not ask it to).
      float mass = 0.0f;
      for (std::int64_t j = 0; j < c; ++j) mass += keep * t[j] + uniform;
      for (std::int64_t j = 0; j < c; ++j)
        gx[i * c + j] = s * (std::exp(row[j] - lse[i]) * mass - (keep * t[j] + uniform));
      if (gt)
        for (std::int64_t j = 0; j < c; ++j) gt[i * c + j] = -s * keep * (row[j] - lse[i]);
    }
  });
}

}  // namespace tg::kernels
