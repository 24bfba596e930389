#include "tapegrad/autograd/loss.hpp"

#include <algorithm>
#include <cmath>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/trace.hpp"
#include "tapegrad/autograd/kernels/softmax.hpp"

namespace tg {

namespace {


// ---- softmax ----

kernels::SoftmaxShape softmax_shape(const char* op, const Shape& xs, std::int64_t dim) {
  const auto nd = static_cast<std::int64_t>(std::max<std::size_t>(xs.size(), 1));
  TG_CHECK(dim >= -nd && dim < nd, op, ": expected dim in [", -nd, ", ", nd - 1, "], got ", dim,
           " for input ", shape_str(xs));
  const std::size_t d = static_cast<std::size_t>(dim < 0 ? dim + nd : dim);
  kernels::SoftmaxShape sh;
  if (xs.empty()) return sh;  // a 0-d tensor is one softmax over one element
  for (std::size_t i = 0; i < d; ++i) sh.outer *= static_cast<std::int64_t>(xs[i]);
  sh.dim = static_cast<std::int64_t>(xs[d]);
  for (std::size_t i = d + 1; i < xs.size(); ++i) sh.inner *= static_cast<std::int64_t>(xs[i]);
  return sh;
}

Variable softmax_op(const char* op, const Variable& x, std::int64_t dim, bool log) {
  TG_CHECK(x.defined(), op, ": expected a defined input, got an undefined one");
  const kernels::SoftmaxShape sh = softmax_shape(op, x.shape(), dim);
  Tensor y = empty_tensor(x.shape());
  kernels::softmax_forward(x.value().data(), y.data(), sh, log);
  if (trace::active()) trace::attributes(op, {{"dim", dim}});
  return record_op(op, std::move(y), {x}, [sh, log](Tensor gy, const BackwardCtx& ctx) -> TensorList {
    Tensor gx = empty_tensor(gy.shape());
    kernels::softmax_backward(gy.data(), ctx.output().data(), gx.data(), sh, log);
    return grad_list(std::move(gx));
  });
}

// ---- reductions shared by the losses ----

// The loss tensor: per-element values (None) or their 0-d sum or mean.
Tensor reduce(const char* op, Tensor per_element, Reduction reduction) {
  if (reduction == Reduction::None) return per_element;
  TG_CHECK(reduction == Reduction::Sum || per_element.size() > 0, op,
           ": expected at least one element for reduction mean, got an empty input");
  double total = 0.0;
  for (std::size_t i = 0; i < per_element.size(); ++i) total += per_element.data()[i];
  if (reduction == Reduction::Mean) total /= static_cast<double>(per_element.size());
  Tensor out = empty_tensor(Shape{});
  out.data()[0] = static_cast<float>(total);
  return out;
}

// dLoss/d(per-element loss i): g[i] for None, else the one gradient (divided by the count for Mean).
struct LossGrad {
  const float* g;
  bool elementwise;
  float scale;
  LossGrad(const Tensor& grad, Reduction reduction, std::size_t count)
      : g(grad.data()), elementwise(reduction == Reduction::None), scale(0.0f) {
    if (!elementwise)
      scale = grad.data()[0] / (reduction == Reduction::Mean ? static_cast<float>(count) : 1.0f);
  }
  float operator[](std::size_t i) const { return elementwise ? g[i] : scale; }
};

// ---- class-label losses ----

void check_labels(const char* op, const Shape& xs, const Labels& labels) {
  TG_CHECK(xs.size() == 2, op, ": expected input [N, C], got ", shape_str(xs));
  TG_CHECK(labels.dimension() == 1 && labels.size() == xs[0], op, ": expected labels [", xs[0],
           "] (one per row of input ", shape_str(xs), "), got ", shape_str(labels.shape()));
  const auto c = static_cast<std::int64_t>(xs[1]);
  for (std::size_t i = 0; i < labels.size(); ++i)
    TG_CHECK(labels.data()[i] >= 0 && labels.data()[i] < c, op, ": expected labels in [0, ", c,
             ") for C = ", c, " classes, got label ", labels.data()[i], " at index ", i);
}

void check_finite(const Tensor& logits) {
  const std::size_t c = logits.shape()[1];
  for (std::size_t i = 0; i < logits.size(); ++i)
    TG_CHECK(std::isfinite(logits.data()[i]), "cross_entropy: expected finite logits, got ",
             logits.data()[i], " at [", i / c, ", ", i % c, "] of ", shape_str(logits.shape()));
}

// What both forms of cross_entropy check and size: label smoothing in range, finite logits
// when asked, and the [N, C] dimensions of the per-row results.
struct CrossEntropyRows {
  float ls;
  std::int64_t n, c;
  Shape rows;
  CrossEntropyRows(const Tensor& logits, const CrossEntropyOptions& options)
      : ls(options.label_smoothing),
        n(static_cast<std::int64_t>(logits.shape()[0])),
        c(static_cast<std::int64_t>(logits.shape()[1])),
        rows{logits.shape()[0]} {
    TG_CHECK(ls >= 0.0f && ls <= 1.0f, "cross_entropy: expected label_smoothing in [0, 1], got ", ls);
    if (options.check_finite) check_finite(logits);
  }
};

// ---- elementwise losses ----

void check_same_shape(const char* op, const Variable& input, const Variable& target) {
  TG_CHECK(input.defined() && target.defined(), op, ": expected a defined input and target, got ",
           input.defined() ? "an undefined target" : "an undefined input");
  TG_CHECK(input.shape() == target.shape(), op, ": expected target of the input's shape ",
           shape_str(input.shape()), ", got ", shape_str(target.shape()));
}

}  // namespace

Variable softmax(const Variable& x, std::int64_t dim) { return softmax_op("softmax", x, dim, false); }

Variable log_softmax(const Variable& x, std::int64_t dim) {
  return softmax_op("log_softmax", x, dim, true);
}

Variable cross_entropy(const Variable& logits, const Labels& labels, CrossEntropyOptions options) {
  TG_CHECK(logits.defined(), "cross_entropy: expected defined logits, got an undefined variable");
  check_labels("cross_entropy", logits.shape(), labels);
  const CrossEntropyRows r(logits.value(), options);
  const float ls = r.ls;
  const std::int64_t n = r.n, c = r.c;
  Tensor loss = empty_tensor(r.rows), lse = empty_tensor(r.rows);
  const Labels y = labels;  // contiguous int64, owned by the closure
  kernels::cross_entropy_forward(logits.value().data(), y.data(), n, c, ls, loss.data(),
                                 lse.data());
  const Reduction reduction = options.reduction;
  return record_op("cross_entropy", reduce("cross_entropy", std::move(loss), reduction), {logits},
                   [y, lse, n, c, ls, reduction](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     Tensor gx = empty_tensor(ctx.input(0).shape());
                     const LossGrad lg(g, reduction, static_cast<std::size_t>(n));
                     const float* scale = lg.elementwise ? g.data() : &lg.scale;
                     kernels::cross_entropy_backward(ctx.input(0).data(), y.data(), lse.data(), n,
                                                     c, ls, scale, !lg.elementwise, gx.data());
                     return grad_list(std::move(gx));
                   });
}

Variable cross_entropy(const Variable& logits, const Variable& target, CrossEntropyOptions options) {
  TG_CHECK(logits.defined() && target.defined(), "cross_entropy: expected defined logits and target, got ",
           logits.defined() ? "an undefined target" : "undefined logits");
  TG_CHECK(logits.dim() == 2, "cross_entropy: expected logits [N, C] with probability targets, got ",
           shape_str(logits.shape()));
  TG_CHECK(target.shape() == logits.shape(), "cross_entropy: expected probability targets of the logits' shape ",
           shape_str(logits.shape()), ", got ", shape_str(target.shape()),
           " (class indices are passed as tg::Labels)");
  const CrossEntropyRows r(logits.value(), options);
  const float ls = r.ls;
  const std::int64_t n = r.n, c = r.c;
  Tensor loss = empty_tensor(r.rows), lse = empty_tensor(r.rows);
  kernels::soft_cross_entropy_forward(logits.value().data(), target.value().data(), n, c, ls,
                                      loss.data(), lse.data());
  const Reduction reduction = options.reduction;
  return record_op("cross_entropy", reduce("cross_entropy", std::move(loss), reduction), {logits, target},
                   [lse, n, c, ls, reduction](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     Tensor gx = empty_tensor(ctx.input(0).shape());
                     Tensor gt;
                     if (ctx.needs(1)) gt = empty_tensor(ctx.input(1).shape());
                     const LossGrad lg(g, reduction, static_cast<std::size_t>(n));
                     const float* scale = lg.elementwise ? g.data() : &lg.scale;
                     kernels::soft_cross_entropy_backward(ctx.input(0).data(), ctx.input(1).data(), lse.data(), n, c,
                                                          ls, scale, !lg.elementwise, gx.data(),
                                                          ctx.needs(1) ? gt.data() : nullptr);
                     return grad_list(std::move(gx), std::move(gt));
                   });
}

Variable nll_loss(const Variable& log_probs, const Labels& labels, Reduction reduction) {
  TG_CHECK(log_probs.defined(), "nll_loss: expected defined log_probs, got an undefined variable");
  check_labels("nll_loss", log_probs.shape(), labels);
  const std::size_t n = log_probs.shape()[0], c = log_probs.shape()[1];
  const Labels y = labels;
  Tensor loss = empty_tensor({n});
  for (std::size_t i = 0; i < n; ++i)
    loss.data()[i] = -log_probs.value().data()[i * c + static_cast<std::size_t>(y.data()[i])];
  return record_op("nll_loss", reduce("nll_loss", std::move(loss), reduction), {log_probs},
                   [y, n, c, reduction](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     Tensor gx = empty_tensor(ctx.input(0).shape());
                     std::fill(gx.data(), gx.data() + gx.size(), 0.0f);
                     const LossGrad lg(g, reduction, n);
                     for (std::size_t i = 0; i < n; ++i)
                       gx.data()[i * c + static_cast<std::size_t>(y.data()[i])] = -lg[i];
                     return grad_list(std::move(gx));
                   });
}

Variable mse_loss(const Variable& input, const Variable& target, Reduction reduction) {
  check_same_shape("mse_loss", input, target);
  const std::size_t n = input.numel();
  const float *a = input.value().data(), *b = target.value().data();
  Tensor loss = empty_tensor(input.shape());
  for (std::size_t i = 0; i < n; ++i) loss.data()[i] = (a[i] - b[i]) * (a[i] - b[i]);
  return record_op("mse_loss", reduce("mse_loss", std::move(loss), reduction), {input, target},
                   [n, reduction](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     const LossGrad lg(g, reduction, n);
                     const float *a = ctx.input(0).data(), *b = ctx.input(1).data();
                     Tensor ga = empty_tensor(ctx.input(0).shape());
                     for (std::size_t i = 0; i < n; ++i) ga.data()[i] = 2.0f * (a[i] - b[i]) * lg[i];
                     Tensor gb = ctx.needs(1) ? empty_tensor(ctx.input(1).shape()) : Tensor();
                     for (std::size_t i = 0; i < n && ctx.needs(1); ++i) gb.data()[i] = -ga.data()[i];
                     if (!ctx.needs(0)) ga = Tensor();
                     return grad_list(std::move(ga), std::move(gb));
                   });
}

Variable binary_cross_entropy_with_logits(const Variable& logits, const Variable& target,
                                          Reduction reduction) {
  check_same_shape("binary_cross_entropy_with_logits", logits, target);
  const std::size_t n = logits.numel();
  const float *x = logits.value().data(), *t = target.value().data();
  Tensor loss = empty_tensor(logits.shape());
  // max(x, 0) - x*t + log(1 + e^-|x|): no overflow for large |x|
  for (std::size_t i = 0; i < n; ++i)
    loss.data()[i] = std::max(x[i], 0.0f) - x[i] * t[i] + std::log1p(std::exp(-std::abs(x[i])));
  return record_op(
      "binary_cross_entropy_with_logits",
      reduce("binary_cross_entropy_with_logits", std::move(loss), reduction), {logits, target},
      [n, reduction](Tensor g, const BackwardCtx& ctx) -> TensorList {
        const LossGrad lg(g, reduction, n);
        const float *x = ctx.input(0).data(), *t = ctx.input(1).data();
        Tensor gx = ctx.needs(0) ? empty_tensor(ctx.input(0).shape()) : Tensor();
        Tensor gt = ctx.needs(1) ? empty_tensor(ctx.input(1).shape()) : Tensor();
        for (std::size_t i = 0; i < n && ctx.needs(0); ++i) {
          const float e = std::exp(-std::abs(x[i]));  // sigmoid without overflow
          const float sigmoid = x[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
          gx.data()[i] = (sigmoid - t[i]) * lg[i];
        }
        for (std::size_t i = 0; i < n && ctx.needs(1); ++i) gt.data()[i] = -x[i] * lg[i];
        return grad_list(std::move(gx), std::move(gt));
      });
}

}  // namespace tg
