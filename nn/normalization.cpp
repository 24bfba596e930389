#include "tapegrad/nn/normalization.hpp"

#include "tapegrad/autograd/elementwise.hpp"
#include "tapegrad/autograd/normalization.hpp"
#include "tapegrad/nn/format.hpp"
#include "tapegrad/nn/init.hpp"

namespace tg::nn {

BatchNormImpl::BatchNormImpl(int spatial_dims, std::int64_t num_features, BatchNormOptions options)
    : spatial_dims(spatial_dims), num_features(num_features), options(options) {
  this->options.num_features = num_features;
  TG_CHECK(num_features > 0, name(), ": expected num_features > 0, got ", num_features);
  TG_CHECK(options.eps > 0, name(), ": expected eps > 0, got ", options.eps);
  TG_CHECK(!options.momentum || (*options.momentum >= 0 && *options.momentum <= 1), name(),
           ": expected momentum in [0, 1], got ", options.momentum.value_or(0));
  const Shape c = checked_shape({num_features}, name());
  if (options.affine) {
    weight = register_parameter("weight", Variable(checked_empty(c, name() + " weight")));
    bias = register_parameter("bias", Variable(checked_empty(c, name() + " bias")));
  }
  if (options.track_running_stats) {
    running_mean = register_buffer("running_mean", Variable(checked_empty(c, name() + " running_mean")));
    running_var = register_buffer("running_var", Variable(checked_empty(c, name() + " running_var")));
    num_batches_tracked =
        register_buffer("num_batches_tracked", Variable(empty_tensor(Shape{})), Dtype::I64);
  }
  reset_parameters();
}

std::string BatchNormImpl::name() const {
  return spatial_dims == 1 ? "BatchNorm1d" : "BatchNorm2d";
}

void BatchNormImpl::reset_running_stats() {
  if (!options.track_running_stats) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  init::zeros_(num_batches_tracked);
}

void BatchNormImpl::reset_parameters() {
  reset_running_stats();
  if (!options.affine) return;
  init::ones_(weight);
  init::zeros_(bias);
}

// PyTorch's _BatchNorm.forward: training (or no running statistics) normalises with the batch's
// statistics; tracked statistics are updated in training only, with momentum, or with
// 1/num_batches_tracked when momentum is None.
Variable BatchNormImpl::forward(const Variable& x) { return normalize(x, false); }

// Reported to a running summary() like a call through operator(), which it replaces.
Variable BatchNormImpl::forward_relu(const Variable& x) {
  Variable y = normalize(x, true);
  if (detail::call_log()) detail::note_call(*this, x.shape(), y.shape(), multiply_adds(x.shape(), y.shape()));
  return y;
}

Variable BatchNormImpl::normalize(const Variable& x, bool relu) {
  const auto& s = x.shape();
  const bool ok = spatial_dims == 2 ? x.dim() == 4 : (x.dim() == 2 || x.dim() == 3);
  TG_CHECK(ok && s[1] == static_cast<std::size_t>(num_features), name(),
           ": expected input of shape ", spatial_dims == 2 ? "[N, C, H, W]" : "[N, C] or [N, C, L]",
           " with C = ", num_features, ", got ", shape_str(s));
  const bool tracking = options.track_running_stats;
  double factor = options.momentum.value_or(0.0);
  if (is_training() && tracking) {
    float& count = num_batches_tracked.value().data()[0];
    count += 1.0f;
    if (!options.momentum) factor = 1.0 / static_cast<double>(count);
  }
  const bool use_batch_stats = is_training() || !tracking;
  Tensor* mean = tracking ? &running_mean.value() : nullptr;
  Tensor* var = tracking ? &running_var.value() : nullptr;
  if (x.dim() == 3) {  // [N, C, L] is normalised as [N, C, L, 1]
    auto x4 = x.view({static_cast<std::int64_t>(s[0]), static_cast<std::int64_t>(s[1]),
                      static_cast<std::int64_t>(s[2]), 1});
    auto y = apply(x4, mean, var, use_batch_stats, static_cast<float>(factor), relu);
    return y.view({static_cast<std::int64_t>(s[0]), static_cast<std::int64_t>(s[1]),
                   static_cast<std::int64_t>(s[2])});
  }
  return apply(x, mean, var, use_batch_stats, static_cast<float>(factor), relu);
}

Variable BatchNormImpl::apply(const Variable& x, Tensor* mean, Tensor* var, bool batch_stats,
                              float factor, bool relu) {
  const float eps = static_cast<float>(options.eps);
  if (batch_norm_fn) {
    Variable y = batch_norm_fn(x, mean, var, weight, bias, batch_stats, factor, eps);
    return relu ? tg::relu(y) : y;
  }
  return (relu ? batch_norm_relu : batch_norm)(x, mean, var, weight, bias, batch_stats, factor, eps);
}

std::string BatchNormImpl::extra_repr() const {
  return std::to_string(num_features) + ", eps=" + detail::py_float(options.eps) +
         ", momentum=" + (options.momentum ? detail::py_float(*options.momentum) : "None") +
         ", affine=" + detail::py_bool(options.affine) +
         ", track_running_stats=" + detail::py_bool(options.track_running_stats);
}

}  // namespace tg::nn
