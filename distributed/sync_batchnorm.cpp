#include "tapegrad/distributed/sync_batchnorm.hpp"

#include <cmath>
#include <vector>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/normalization.hpp"
#include "tapegrad/distributed/backend.hpp"
#include "tapegrad/distributed/comm.hpp"
#include "tapegrad/nn/normalization.hpp"

namespace tg::distributed {

namespace {

// x viewed as [N, C, S] (S = H*W, or 1 for [N, C]).
struct Layout {
  std::size_t n, c, s;
  explicit Layout(const Shape& shape)
      : n(shape[0]), c(shape[1]), s(shape.size() == 4 ? shape[2] * shape[3] : 1) {}
  template <class Fn>  // fn(channel, index into the buffer)
  void each(Fn fn) const {
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t ch = 0; ch < c; ++ch)
        for (std::size_t k = 0, base = (i * c + ch) * s; k < s; ++k) fn(ch, base + k);
  }
};

float at(const Variable& v, std::size_t ch, float absent) {
  return v.defined() ? v.value().data()[ch] : absent;
}

// Global mean and biased variance per channel, and the global element count per channel.
double global_stats(const Tensor& x, const Layout& l, std::vector<double>& mean,
                    std::vector<double>& var) {
  std::vector<double> sums(2 * l.c + 1, 0.0);  // sum[C], sum of squares[C], count
  const float* p = x.data();
  l.each([&](std::size_t ch, std::size_t i) {
    sums[ch] += p[i];
    sums[l.c + ch] += double(p[i]) * p[i];
  });
  sums[2 * l.c] = double(l.n * l.s);
  detail::sum_in_place(sums.data(), sums.size());
  const double count = sums[2 * l.c];
  TG_CHECK(count > 1, "sync_batch_norm: expected more than one value per channel over all "
           "ranks, got ", count, " (input ", shape_str(x.shape()), " on this rank)");
  mean.resize(l.c);
  var.resize(l.c);
  for (std::size_t ch = 0; ch < l.c; ++ch) {
    mean[ch] = sums[ch] / count;
    var[ch] = std::max(0.0, sums[l.c + ch] / count - mean[ch] * mean[ch]);
  }
  return count;
}

void update_running(Tensor* rm, Tensor* rv, const std::vector<double>& mean,
                    const std::vector<double>& var, double count, float momentum) {
  if (!rm || !rv) return;
  for (std::size_t ch = 0; ch < mean.size(); ++ch) {
    rm->data()[ch] = float((1 - momentum) * rm->data()[ch] + momentum * mean[ch]);
    rv->data()[ch] = float((1 - momentum) * rv->data()[ch] + momentum * var[ch] * count / (count - 1));
  }
}

}  // namespace

Variable sync_batch_norm(const Variable& x, Tensor* running_mean, Tensor* running_var,
                         const Variable& weight, const Variable& bias, bool training,
                         float momentum, float eps) {
  if (!training || world_size() == 1)
    return batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps);
  TG_CHECK(x.dim() == 2 || x.dim() == 4, "sync_batch_norm: expected input of shape [N, C] or "
           "[N, C, H, W], got ", shape_str(x.shape()));
  const Layout l(x.shape());
  std::vector<double> mean, var;
  const double count = global_stats(x.value(), l, mean, var);
  update_running(running_mean, running_var, mean, var, count, momentum);
  std::vector<float> invstd(l.c);
  for (std::size_t ch = 0; ch < l.c; ++ch) invstd[ch] = float(1.0 / std::sqrt(var[ch] + eps));
  // xhat is kept for backward: y = xhat * w + b.
  Tensor xhat = empty_tensor(x.shape()), y = empty_tensor(x.shape());
  const float* px = x.value().data();
  l.each([&](std::size_t ch, std::size_t i) {
    xhat.data()[i] = float((px[i] - mean[ch]) * invstd[ch]);
    y.data()[i] = xhat.data()[i] * at(weight, ch, 1) + at(bias, ch, 0);
  });
  return record_op("sync_batch_norm", std::move(y), {x, weight, bias},
                   [xhat = std::move(xhat), invstd, count, l, weight](Tensor dy, const BackwardCtx& ctx) {
    // Local sums of dy and dy*xhat per channel; their global sums drive dx (every rank's loss
    // depends on every rank's x through the statistics).
    std::vector<double> sums(2 * l.c, 0.0);
    l.each([&](std::size_t ch, std::size_t i) {
      sums[ch] += dy.data()[i];
      sums[l.c + ch] += double(dy.data()[i]) * xhat.data()[i];
    });
    Tensor dw = empty_tensor(Shape{l.c}), db = empty_tensor(Shape{l.c});
    for (std::size_t ch = 0; ch < l.c; ++ch) {
      db.data()[ch] = float(sums[ch]);
      dw.data()[ch] = float(sums[l.c + ch]);
    }
    Tensor dx;
    if (ctx.needs(0)) {
      detail::sum_in_place(sums.data(), sums.size());
      dx = empty_tensor(dy.shape());
      l.each([&](std::size_t ch, std::size_t i) {
        const double g = dy.data()[i] - sums[ch] / count - xhat.data()[i] * sums[l.c + ch] / count;
        dx.data()[i] = float(g * at(weight, ch, 1) * invstd[ch]);
      });
    }
    return grad_list(std::move(dx), ctx.needs(1) ? std::move(dw) : Tensor(),
                     ctx.needs(2) ? std::move(db) : Tensor());
  });
}

int convert_sync_batchnorm(nn::Module& model) {
  int converted = 0;
  for (nn::Module* m : model.modules())
    if (auto* bn = dynamic_cast<nn::BatchNormImpl*>(m)) {
      bn->batch_norm_fn = sync_batch_norm;
      ++converted;
    }
  return converted;
}

}  // namespace tg::distributed
