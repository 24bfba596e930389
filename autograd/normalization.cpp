#include "tapegrad/autograd/normalization.hpp"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/shape_ops.hpp"
#include "tapegrad/autograd/reduce.hpp"
#include "tapegrad/autograd/elementwise.hpp"
#include "tapegrad/autograd/trace.hpp"
#include "tapegrad/autograd/kernels/batch_norm.hpp"
#include "tapegrad/autograd/kernels/map.hpp"
#include "tapegrad/autograd/kernels/relu.hpp"
#include "tapegrad/autograd/random.hpp"

namespace tg {

namespace {


void check_channel_vector(const char* what, const Shape& s, std::size_t channels) {
  TG_CHECK(s.size() == 1 && s[0] == channels, "batch_norm: expected ", what, " [", channels,
           "], got ", shape_str(s));
}

kernels::BatchNormShape check_batch_norm(const Variable& x, const Tensor* running_mean,
                                         const Tensor* running_var, const Variable& weight,
                                         const Variable& bias, bool training, float eps) {
  TG_CHECK(x.defined() && x.dim() >= 2, "batch_norm: expected input [N, C] or [N, C, H, W], got ",
           x.defined() ? shape_str(x.shape()) : std::string("an undefined input"));
  const Shape& xs = x.shape();
  if (weight.defined()) check_channel_vector("weight", weight.shape(), xs[1]);
  if (bias.defined()) check_channel_vector("bias", bias.shape(), xs[1]);
  TG_CHECK((running_mean == nullptr) == (running_var == nullptr),
           "batch_norm: expected both running_mean and running_var or neither, got one");
  if (running_mean) {
    check_channel_vector("running_mean", running_mean->shape(), xs[1]);
    check_channel_vector("running_var", running_var->shape(), xs[1]);
  }
  TG_CHECK(training || running_mean, "batch_norm: expected running_mean and running_var in eval "
           "mode, got none");
  TG_CHECK(eps > 0.0f, "batch_norm: expected eps > 0, got ", eps);
  kernels::BatchNormShape sh;
  sh.n = static_cast<std::int64_t>(xs[0]);
  sh.c = static_cast<std::int64_t>(xs[1]);
  sh.s = static_cast<std::int64_t>(numel_of(xs) / (xs[0] * xs[1] == 0 ? 1 : xs[0] * xs[1]));
  TG_CHECK(!training || sh.per_channel() > 1, "batch_norm: expected more than 1 value per "
           "channel when training, got input ", shape_str(xs));
  return sh;
}

// running = (1 - momentum) * running + momentum * batch, with the variance unbiased.
void update_running_stats(const Tensor& mean, const Tensor& var, std::int64_t count,
                          float momentum, Tensor& running_mean, Tensor& running_var) {
  const auto n = static_cast<float>(count);
  for (std::size_t c = 0; c < mean.size(); ++c) {
    float& rm = running_mean.data()[c];
    float& rv = running_var.data()[c];
    rm = (1.0f - momentum) * rm + momentum * mean.data()[c];
    rv = (1.0f - momentum) * rv + momentum * var.data()[c] * n / (n - 1.0f);
  }
}

// batch_norm's backward rule, a named type so that a ReLU applied later can find it and turn
// on its mask (absorb_relu_into_batch_norm).
struct BatchNormBackward {
  kernels::BatchNormShape sh;
  Tensor mean, invstd;
  bool training, has_weight, relu;

  TensorList operator()(const GradOutput& gy, const BackwardCtx& ctx) const {
    const bool want_w = ctx.num_inputs() > 1 && ctx.needs(1);
    const bool want_b = ctx.num_inputs() > 2 && ctx.needs(2);
    Tensor gx = ctx.needs(0) ? empty_tensor(ctx.input(0).shape()) : Tensor();
    Tensor gw = want_w ? empty_tensor(ctx.input(1).shape()) : Tensor();
    Tensor gb = want_b ? empty_tensor(ctx.input(2).shape()) : Tensor();
    kernels::batch_norm_backward(gy.get().data(), ctx.input(0).data(), sh, mean.data(), invstd.data(),
                                 has_weight ? ctx.input(1).data() : nullptr, training,
                                 relu ? ctx.output().data() : nullptr,
                                 ctx.needs(0) ? gx.data() : nullptr, want_w ? gw.data() : nullptr,
                                 want_b ? gb.data() : nullptr);
    return grad_list(std::move(gx), std::move(gw), std::move(gb));
  }
};

// Sums over every dimension but the channels (1), keeping them: [1, C] or [1, C, 1, 1].
Variable channel_sum(Variable v) {
  for (std::int64_t d = std::int64_t(v.dim()) - 1; d >= 0; --d)
    if (d != 1) v = sum(v, d, true);
  return v;
}

// batch_norm's gradients written with Variable ops, for create_graph: in training the batch
// statistics are recomputed from x so that the second derivative flows through them too.
GraphBackwardFn batch_norm_graph_rule(const Tensor& mean, const Tensor& invstd, bool training,
                                      bool has_weight, float eps) {
  return [mean, invstd, training, has_weight, eps](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
    const Variable x = ctx.input(0);
    const auto c = std::int64_t(x.shape()[1]);
    std::vector<std::int64_t> bshape(x.dim(), 1);
    bshape[1] = c;
    const Variable w = has_weight ? reshape(ctx.input(1), bshape) : Variable(filled(Shape{}, 1.0f));
    Variable xhat, dx;
    if (training) {
      const float m = float(x.numel()) / float(c);
      const Variable xc = x - channel_sum(x) * (1.0f / m);
      const Variable inv = pow(channel_sum(xc * xc) * (1.0f / m) + eps, -0.5f);
      xhat = xc * inv;
      const Variable dxhat = g * w;
      dx = inv * (1.0f / m) * (dxhat * m - channel_sum(dxhat) - xhat * channel_sum(dxhat * xhat));
    } else {
      const Variable mu{Tensor(mean)}, inv{Tensor(invstd)};
      xhat = (x - reshape(mu, bshape)) * reshape(inv, bshape);
      dx = g * w * reshape(inv, bshape);
    }
    std::vector<Variable> grads(3);
    if (ctx.needs(0)) grads[0] = dx;
    if (ctx.num_inputs() > 1 && ctx.needs(1)) grads[1] = reshape(channel_sum(g * xhat), {c});
    if (ctx.num_inputs() > 2 && ctx.needs(2)) grads[2] = reshape(channel_sum(g), {c});
    grads.resize(ctx.num_inputs());
    return grads;
  };
}

// The same with the ReLU's mask applied to the gradient first (batch_norm_relu).
GraphBackwardFn with_relu_mask(GraphBackwardFn rule) {
  return [rule = std::move(rule)](const Variable& g, const GraphCtx& ctx) {
    const Variable mask(kernels::map(ctx.output().value(), [](float o) { return o > 0.0f ? 1.0f : 0.0f; }));
    return rule(g * mask, ctx);
  };
}

// relu(batch_norm(x)) where nobody else saw the batch norm's output: batch_norm_relu in place.
// The backward recomputes xhat from x, so overwriting the output loses nothing.
void absorb_relu_into_batch_norm(Node& node) {
  auto* rule = node.backward.target<BatchNormBackward>();
  TG_ASSERT(rule != nullptr, "batch_norm's node lost its backward rule");
  rule->relu = true;
  if (node.graph_backward) node.graph_backward = with_relu_mask(std::move(node.graph_backward));
  kernels::apply(node.value, kernels::relu_value);
  node.op = "batch_norm_relu";
}

// batch_norm, followed by a ReLU in the same passes over memory when relu is set.
Variable batch_norm_op(const char* name, bool relu, const Variable& x, Tensor* running_mean,
                       Tensor* running_var, const Variable& weight, const Variable& bias,
                       bool training, float momentum, float eps) {
  const kernels::BatchNormShape sh =
      check_batch_norm(x, running_mean, running_var, weight, bias, training, eps);
  const Shape channels{static_cast<std::size_t>(sh.c)};
  Tensor mean = empty_tensor(channels), invstd = empty_tensor(channels);
  Tensor y = empty_tensor(x.shape());
  const bool has_weight = weight.defined(), has_bias = bias.defined();
  const float* w = has_weight ? weight.value().data() : nullptr;
  const float* b = has_bias ? bias.value().data() : nullptr;
  if (training) {
    Tensor var = empty_tensor(channels);
    kernels::batch_norm_train_forward(x.value().data(), sh, eps, w, b, relu, mean.data(),
                                      var.data(), invstd.data(), y.data());
    if (running_mean)
      update_running_stats(mean, var, sh.per_channel(), momentum, *running_mean, *running_var);
  } else {
    mean = *running_mean;
    for (std::int64_t c = 0; c < sh.c; ++c)
      invstd.data()[c] = 1.0f / std::sqrt(running_var->data()[c] + eps);
    kernels::batch_norm_apply(x.value().data(), sh, mean.data(), invstd.data(), w, b, relu, y.data());
  }
  if (trace::active())
    trace::attributes(name, {{"running_mean", running_mean}, {"running_var", running_var},
                             {"eps", eps}, {"training", std::int64_t{training}}});
  GraphBackwardFn graph_rule = batch_norm_graph_rule(mean, invstd, training, has_weight, eps);
  Variable out = record_op(name, std::move(y), {x, weight, bias},
                           BatchNormBackward{sh, std::move(mean), std::move(invstd), training,
                                             has_weight, relu});
  with_double_backward(out, relu ? with_relu_mask(std::move(graph_rule)) : std::move(graph_rule));
  if (!relu) out.node()->absorb_relu = absorb_relu_into_batch_norm;
  return out;
}

}  // namespace

Variable batch_norm(const Variable& x, Tensor* running_mean, Tensor* running_var,
                    const Variable& weight, const Variable& bias, bool training, float momentum,
                    float eps) {
  return batch_norm_op("batch_norm", false, x, running_mean, running_var, weight, bias, training,
                       momentum, eps);
}

Variable batch_norm_relu(const Variable& x, Tensor* running_mean, Tensor* running_var,
                         const Variable& weight, const Variable& bias, bool training,
                         float momentum, float eps) {
  return batch_norm_op("batch_norm_relu", true, x, running_mean, running_var, weight, bias,
                       training, momentum, eps);
}

Variable dropout(const Variable& x, float p, bool training) {
  TG_CHECK(p >= 0.0f && p <= 1.0f, "dropout: expected probability p in [0, 1], got ", p);
  if (!training || p == 0.0f) return x;
  // mask = keep / (1 - p), keep ~ Bernoulli(1 - p); p = 1 keeps nothing (and never divides by 0).
  auto mask = std::make_shared<Tensor>(empty_tensor(x.shape()));
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  Generator& gen = default_generator();
  float* m = mask->data();
  for (std::size_t i = 0; i < mask->size(); ++i) m[i] = gen.uniform() < p ? 0.0f : scale;
  Tensor y = empty_tensor(x.shape());
  const float* xv = x.value().data();
  for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = xv[i] * m[i];
  return with_double_backward(
      record_op("dropout", std::move(y), {x},
                [mask](Tensor gy, const BackwardCtx&) -> TensorList {
                  for (std::size_t i = 0; i < gy.size(); ++i) gy.data()[i] *= mask->data()[i];
                  return grad_list(std::move(gy));
                }),
      [mask](const Variable& g, const GraphCtx&) -> std::vector<Variable> { return {g * Variable(*mask)}; });
}

Variable dropout2d(const Variable& x, float p, bool training) {
  TG_CHECK(p >= 0.0f && p <= 1.0f, "dropout2d: expected probability p in [0, 1], got ", p);
  TG_CHECK(x.defined() && x.dim() == 4, "dropout2d: expected input [N, C, H, W] (4-D), got ",
           x.defined() ? shape_str(x.shape()) : std::string("an undefined input"),
           x.defined() && x.dim() == 3 ? "; for one image [C, H, W] add the batch dimension: "
                                         "x.view({1, C, H, W})" : "");
  if (!training || p == 0.0f) return x;
  // One keep/drop draw per (image, channel), spread over its H*W values.
  const std::size_t channels = x.shape()[0] * x.shape()[1];
  const std::size_t plane = x.shape()[2] * x.shape()[3];
  std::vector<float> mask(channels);
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  Generator& gen = default_generator();
  for (float& m : mask) m = gen.uniform() < p ? 0.0f : scale;
  Tensor y = empty_tensor(x.shape());
  const float* xv = x.value().data();
  for (std::size_t ch = 0; ch < channels; ++ch)
    for (std::size_t i = 0; i < plane; ++i) y.data()[ch * plane + i] = xv[ch * plane + i] * mask[ch];
  return record_op("dropout2d", std::move(y), {x},
                   [mask = std::move(mask), plane](Tensor gy, const BackwardCtx&) -> TensorList {
                     for (std::size_t i = 0; i < gy.size(); ++i) gy.data()[i] *= mask[i / plane];
                     return grad_list(std::move(gy));
                   });
}

}  // namespace tg
