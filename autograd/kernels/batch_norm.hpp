#pragma once
// Batch normalisation loops over x viewed as [N, C, S] (S = H*W, or 1 for [N, C] input).
#include <cstdint>

namespace tg::kernels {

/// The layout of a batch-norm input: channel c of sample i is x[(i*C + c)*S .. +S).
struct BatchNormShape {
  std::int64_t n = 1, c = 1, s = 1;
  std::int64_t per_channel() const { return n * s; }
};

/// y = (x - mean[c]) * invstd[c] * weight[c] + bias[c]; weight / bias may be null (1 / 0).
/// With relu set, y = max(that, 0).
void batch_norm_apply(const float* x, const BatchNormShape& sh, const float* mean,
                      const float* invstd, const float* weight, const float* bias, bool relu,
                      float* y);

/// Training forward in one sweep per channel: the batch statistics (mean and biased variance
/// from one pass of sums shifted by an estimate of the mean, accumulated in double; invstd =
/// 1/sqrt(var + eps)), then batch_norm_apply's y while the channel is still in cache (one read
/// of x from memory instead of two).
void batch_norm_train_forward(const float* x, const BatchNormShape& sh, float eps,
                              const float* weight, const float* bias, bool relu, float* mean,
                              float* var, float* invstd, float* y);

/// Gradients given gy: gb = sum(gy), gw = sum(gy * xhat) per channel, and gx =
/// weight*invstd*(gy - mean(gy) - xhat*mean(gy*xhat)) in training (the statistics depend on x)
/// or weight*invstd*gy in eval. Any of gx, gw, gb may be null; weight may be null (1).
/// relu_output, when given, is the output of a fused ReLU: gy counts only where it is > 0.
void batch_norm_backward(const float* gy, const float* x, const BatchNormShape& sh,
                         const float* mean, const float* invstd, const float* weight,
                         bool training, const float* relu_output, float* gx, float* gw,
                         float* gb);

}  // namespace tg::kernels
