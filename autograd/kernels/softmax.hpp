#pragma once
// Softmax, log-softmax and the fused cross-entropy rows over contiguous buffers.
#include <cstdint>

namespace tg::kernels {

/// x viewed as [outer, dim, inner]: the softmax runs along the middle axis.
struct SoftmaxShape {
  std::int64_t outer = 1, dim = 1, inner = 1;
};

/// y = softmax (or log_softmax when `log`) of x along the middle axis; the maximum is
/// subtracted first, so logits of +-1000 are fine.
void softmax_forward(const float* x, float* y, const SoftmaxShape& sh, bool log);
/// gx given gy and the forward output y: softmax y*(gy - sum(gy*y)), log_softmax
/// gy - exp(y)*sum(gy), sums along the middle axis.
void softmax_backward(const float* gy, const float* y, float* gx, const SoftmaxShape& sh,
                      bool log);

/// Cross entropy of each row of logits [n, c] with PyTorch's label smoothing ls:
/// loss[i] = (1-ls)*(lse_i - x[i, y_i]) + ls*(lse_i - mean_j x[i, j]); lse receives the rows'
/// log-sum-exp (needed by backward).
void cross_entropy_forward(const float* logits, const std::int64_t* labels, std::int64_t n,
                           std::int64_t c, float label_smoothing, float* loss, float* lse);
/// gx[i, j] = scale_i * (softmax(x_i)_j - (1-ls)*[j == y_i] - ls/c), scale_i = row_scale[i]
/// (or row_scale[0] for every row when `shared_scale`).
void cross_entropy_backward(const float* logits, const std::int64_t* labels, const float* lse,
                            std::int64_t n, std::int64_t c, float label_smoothing,
                            const float* row_scale, bool shared_scale, float* gx);

/// Cross entropy of each row of logits [n, c] with a target distribution [n, c] (PyTorch's class
/// probabilities), smoothed to t' = (1-ls)*t + ls/c: loss[i] = sum_j t'[i, j] * (lse_i - x[i, j]).
void soft_cross_entropy_forward(const float* logits, const float* target, std::int64_t n,
                                std::int64_t c, float label_smoothing, float* loss, float* lse);
/// Its gradients, scaled per row as in cross_entropy_backward: gx[i, j] = s_i * (softmax(x_i)_j *
/// sum_j t'[i, j] - t'[i, j]) and, when gt is not null, gt[i, j] = -s_i * (1-ls) * log_softmax(x_i)_j.
void soft_cross_entropy_backward(const float* logits, const float* target, const float* lse,
                                 std::int64_t n, std::int64_t c, float label_smoothing,
                                 const float* row_scale, bool shared_scale, float* gx, float* gt);

}  // namespace tg::kernels
