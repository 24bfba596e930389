#include "tapegrad/autograd/loss.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tapegrad/autograd/elementwise.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/reduce.hpp"
#include "tapegrad/autograd/shape_ops.hpp"
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
  Variable out = record_op(op, std::move(y), {x}, [sh, log](Tensor gy, const BackwardCtx& ctx) -> TensorList {
    Tensor gx = empty_tensor(gy.shape());
    kernels::softmax_backward(gy.data(), ctx.output().data(), gx.data(), sh, log);
    return grad_list(std::move(gx));
  });
  // The same rules on Variables: softmax y (g - sum(g y)), log_softmax g - e^y sum(g).
  return with_double_backward(out, [dim, log](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
    const Variable y = ctx.output();
    if (log) return {g - exp(y) * sum(g, dim, true)};
    return {y * (g - sum(g * y, dim, true))};
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

// dLoss/d(per-row loss) as a Variable of shape [N, 1]: the one gradient scaled for Mean and
// Sum, g itself (a column) for None.
Variable row_scale(const Variable& g, Reduction reduction, std::int64_t n) {
  if (reduction == Reduction::None) return reshape(g, {n, 1});
  return g * (reduction == Reduction::Mean ? 1.0f / static_cast<float>(n) : 1.0f);
}

// cross_entropy's gradient softmax(x) - q with q the (smoothed) target distribution, written
// with Variable ops so that it can be differentiated again.
std::vector<Variable> cross_entropy_graph(const Variable& g, const Variable& logits, const Variable& q,
                                          Reduction reduction) {
  const auto n = static_cast<std::int64_t>(logits.shape()[0]);
  return {(softmax(logits, 1) - q) * row_scale(g, reduction, n)};
}

// ---- elementwise losses ----

void check_same_shape(const char* op, const Variable& input, const Variable& target) {
  TG_CHECK(input.defined() && target.defined(), op, ": expected a defined input and target, got ",
           input.defined() ? "an undefined target" : "an undefined input");
  TG_CHECK(input.shape() == target.shape(), op, ": expected target of the input's shape ",
           shape_str(input.shape()), ", got ", shape_str(target.shape()));
}


// ---- class weights and ignore_index (nll_loss, cross_entropy) ----

// PyTorch's weighted class losses, per row i with log-probabilities lp_i (from the input, or
// log_softmax of logits): nll_i = -w[y_i] * lp_i[y_i] and, with label smoothing,
// smooth_i = -sum_k w_k * lp_i[k]; rows labelled ignore_index give 0. Mean divides the nll part
// by the total weight W = sum of w[y_i] over the counted rows and the smoothing part by W with
// weights or by the number of counted rows without (LossNLL.cpp's
// cross_entropy_loss_label_smoothing, PyTorch 1.13).
Variable weighted_class_loss(const char* op, const Variable& input, const Labels& labels,
                             const Variable& weight, std::int64_t ignore_index, float ls,
                             Reduction reduction, bool from_logits) {
  const Shape& xs = input.shape();
  TG_CHECK(xs.size() == 2, op, ": expected input [N, C], got ", shape_str(xs));
  TG_CHECK(labels.dimension() == 1 && labels.size() == xs[0], op, ": expected labels [", xs[0],
           "] (one per row of input ", shape_str(xs), "), got ", shape_str(labels.shape()));
  const auto n = static_cast<std::int64_t>(xs[0]), c = static_cast<std::int64_t>(xs[1]);
  for (std::size_t i = 0; i < labels.size(); ++i)
    TG_CHECK(labels.data()[i] == ignore_index || (labels.data()[i] >= 0 && labels.data()[i] < c),
             op, ": expected labels in [0, ", c, ") or equal to ignore_index = ", ignore_index,
             ", got label ", labels.data()[i], " at index ", i);
  std::vector<float> w(static_cast<std::size_t>(c), 1.0f);
  if (weight.defined()) {
    TG_CHECK(weight.dim() == 1 && static_cast<std::int64_t>(weight.numel()) == c, op,
             ": expected weight [", c, "] (one per class), got ", shape_str(weight.shape()));
    std::copy(weight.value().data(), weight.value().data() + c, w.begin());
  }
  const Labels y = labels;
  const float* x = input.value().data();
  // Log-probabilities of each row (from logits: x - logsumexp, stable).
  Tensor lp = empty_tensor(xs);
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = x + i * c;
    float* out = lp.data() + i * c;
    if (!from_logits) {
      std::copy(row, row + c, out);
      continue;
    }
    const float m = *std::max_element(row, row + c);
    double s = 0;
    for (std::int64_t k = 0; k < c; ++k) s += std::exp(double(row[k]) - m);
    const float lse = m + static_cast<float>(std::log(s));
    for (std::int64_t k = 0; k < c; ++k) out[k] = row[k] - lse;
  }
  Tensor per_row = empty_tensor({static_cast<std::size_t>(n)});
  double nll_sum = 0, smooth_sum = 0, total_weight = 0, counted = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    float& li = per_row.data()[i];
    li = 0.0f;
    if (y.data()[i] == ignore_index) continue;
    const float* row = lp.data() + i * c;
    const float wy = w[static_cast<std::size_t>(y.data()[i])];
    const double nll = -double(wy) * row[y.data()[i]];
    double smooth = 0;
    if (ls > 0.0f)
      for (std::int64_t k = 0; k < c; ++k) smooth -= double(w[static_cast<std::size_t>(k)]) * row[k];
    total_weight += wy;
    counted += 1;
    nll_sum += nll;
    smooth_sum += smooth;
    li = static_cast<float>((1.0 - ls) * nll + ls / double(c) * smooth);
  }
  const double smooth_divisor = weight.defined() ? total_weight : counted;
  Tensor out;
  if (reduction == Reduction::None) {
    out = per_row;
  } else {
    double total = (1.0 - ls) * nll_sum + ls / double(c) * smooth_sum;
    if (reduction == Reduction::Mean) {
      TG_CHECK(total_weight > 0.0, op, ": expected a positive total weight for reduction mean, got ",
               total_weight, " (every label equals ignore_index = ", ignore_index,
               " or has class weight 0); use reduction sum for such batches");
      total = (1.0 - ls) * nll_sum / total_weight + ls / double(c) * smooth_sum / smooth_divisor;
    }
    out = empty_tensor(Shape{});
    out.data()[0] = static_cast<float>(total);
  }
  return record_op(
      op, std::move(out), {input},
      [y, w, lp, n, c, ls, reduction, ignore_index, from_logits, total_weight,
       smooth_divisor](Tensor g, const BackwardCtx&) -> TensorList {
        Tensor gx = filled(lp.shape(), 0.0f);
        for (std::int64_t i = 0; i < n; ++i) {
          if (y.data()[i] == ignore_index) continue;
          const double gi = reduction == Reduction::None ? g.data()[i] : g.data()[0];
          double c1 = gi * (1.0 - ls), c2 = gi * ls / double(c);
          if (reduction == Reduction::Mean) c1 /= total_weight, c2 /= smooth_divisor;
          const auto yi = static_cast<std::size_t>(y.data()[i]);
          float* grow = gx.data() + i * c;
          // d(-sum_k a_k lp_k)/dx: -a for log-probabilities; -a + sum(a) * softmax for logits.
          double a_sum = 0;
          for (std::int64_t k = 0; k < c; ++k) {
            const double a = (std::size_t(k) == yi ? c1 * w[yi] : 0.0) + c2 * w[std::size_t(k)];
            grow[k] = static_cast<float>(-a);
            a_sum += a;
          }
          if (from_logits) {
            const float* row = lp.data() + i * c;
            for (std::int64_t k = 0; k < c; ++k)
              grow[k] += static_cast<float>(a_sum * std::exp(double(row[k])));
          }
        }
        return grad_list(std::move(gx));
      });
}

bool any_label_is(const Labels& labels, std::int64_t value) {
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels.data()[i] == value) return true;
  return false;
}

// ---- probability and robust regression losses ----

// The weight of element i of an input of `n` elements: weight of the input's shape, of a
// trailing part of it (cycled), or of one element.
std::vector<float> expand_weight(const char* op, const Variable& weight, const Shape& xs) {
  const std::size_t n = numel_of(xs);
  std::vector<float> w(n, 1.0f);
  if (!weight.defined()) return w;
  const Shape& ws = weight.shape();
  bool trailing = ws.size() <= xs.size();
  for (std::size_t i = 0; trailing && i < ws.size(); ++i)
    trailing = ws[ws.size() - 1 - i] == xs[xs.size() - 1 - i];
  TG_CHECK(trailing || weight.numel() == 1, op, ": expected weight of the input's shape ",
           shape_str(xs), ", of its trailing dimensions, or of one element, got ", shape_str(ws));
  const float* v = weight.value().data();
  const std::size_t m = weight.numel();
  for (std::size_t i = 0; i < n; ++i) w[i] = v[i % m];
  return w;
}

// reduce() for an elementwise loss, and its per-element upstream gradient.
float upstream(const Tensor& g, Reduction reduction, std::size_t i, std::size_t n) {
  if (reduction == Reduction::None) return g.data()[i];
  return reduction == Reduction::Mean ? g.data()[0] / static_cast<float>(n) : g.data()[0];
}

// PyTorch's class-weighted cross_entropy with probability targets: with t' = (1-ls)*t + ls/C,
// loss_i = -sum_k w_k * t'_ik * log_softmax(x_i)_k; mean divides by N (not by the weights).
Variable weighted_soft_cross_entropy(const Variable& logits, const Variable& target,
                                     const Variable& weight, float ls, Reduction reduction) {
  TG_CHECK(ls >= 0.0f && ls <= 1.0f, "cross_entropy: expected label_smoothing in [0, 1], got ", ls);
  const auto n = static_cast<std::int64_t>(logits.shape()[0]);
  const auto c = static_cast<std::int64_t>(logits.shape()[1]);
  TG_CHECK(weight.dim() == 1 && static_cast<std::int64_t>(weight.numel()) == c,
           "cross_entropy: expected weight [", c, "] (one per class), got ",
           shape_str(weight.shape()));
  const std::vector<float> w(weight.value().data(), weight.value().data() + c);
  const float* x = logits.value().data();
  const float* t = target.value().data();
  Tensor lp = empty_tensor(logits.shape());
  Tensor loss = empty_tensor({static_cast<std::size_t>(n)});
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = x + i * c;
    const float m = *std::max_element(row, row + c);
    double s = 0;
    for (std::int64_t k = 0; k < c; ++k) s += std::exp(double(row[k]) - m);
    const float lse = m + static_cast<float>(std::log(s));
    double li = 0;
    for (std::int64_t k = 0; k < c; ++k) {
      lp.data()[i * c + k] = row[k] - lse;
      li -= double(w[std::size_t(k)]) * ((1.0 - ls) * t[i * c + k] + ls / double(c)) *
            lp.data()[i * c + k];
    }
    loss.data()[i] = static_cast<float>(li);
  }
  return record_op(
      "cross_entropy", reduce("cross_entropy", std::move(loss), reduction), {logits, target},
      [w, lp, n, c, ls, reduction](Tensor g, const BackwardCtx& ctx) -> TensorList {
        const float* t = ctx.input(1).data();
        Tensor gx = ctx.needs(0) ? empty_tensor(lp.shape()) : Tensor();
        Tensor gt = ctx.needs(1) ? empty_tensor(lp.shape()) : Tensor();
        for (std::int64_t i = 0; i < n; ++i) {
          const double gi = upstream(g, reduction, std::size_t(i), std::size_t(n));
          const float* row = lp.data() + i * c;
          double a_sum = 0;
          for (std::int64_t k = 0; k < c; ++k)
            a_sum += gi * w[std::size_t(k)] * ((1.0 - ls) * t[i * c + k] + ls / double(c));
          for (std::int64_t k = 0; k < c; ++k) {
            const double wk = w[std::size_t(k)];
            if (ctx.needs(0))
              gx.data()[i * c + k] = static_cast<float>(
                  -gi * wk * ((1.0 - ls) * t[i * c + k] + ls / double(c)) + a_sum * std::exp(double(row[k])));
            if (ctx.needs(1)) gt.data()[i * c + k] = static_cast<float>(-gi * wk * (1.0 - ls) * row[k]);
          }
        }
        return grad_list(std::move(gx), std::move(gt));
      });
}

}  // namespace

Variable softmax(const Variable& x, std::int64_t dim) { return softmax_op("softmax", x, dim, false); }

Variable log_softmax(const Variable& x, std::int64_t dim) {
  return softmax_op("log_softmax", x, dim, true);
}

Variable cross_entropy(const Variable& logits, const Labels& labels, CrossEntropyOptions options) {
  TG_CHECK(logits.defined(), "cross_entropy: expected defined logits, got an undefined variable");
  if (options.weight.defined() || any_label_is(labels, options.ignore_index)) {
    TG_CHECK(options.label_smoothing >= 0.0f && options.label_smoothing <= 1.0f,
             "cross_entropy: expected label_smoothing in [0, 1], got ", options.label_smoothing);
    if (options.check_finite && logits.dim() == 2) check_finite(logits.value());
    return weighted_class_loss("cross_entropy", logits, labels, options.weight,
                               options.ignore_index, options.label_smoothing, options.reduction,
                               true);
  }
  check_labels("cross_entropy", logits.shape(), labels);
  const CrossEntropyRows r(logits.value(), options);
  const float ls = r.ls;
  const std::int64_t n = r.n, c = r.c;
  Tensor loss = empty_tensor(r.rows), lse = empty_tensor(r.rows);
  const Labels y = labels;  // contiguous int64, owned by the closure
  kernels::cross_entropy_forward(logits.value().data(), y.data(), n, c, ls, loss.data(),
                                 lse.data());
  const Reduction reduction = options.reduction;
  Variable out = record_op("cross_entropy", reduce("cross_entropy", std::move(loss), reduction), {logits},
                   [y, lse, n, c, ls, reduction](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     Tensor gx = empty_tensor(ctx.input(0).shape());
                     const LossGrad lg(g, reduction, static_cast<std::size_t>(n));
                     const float* scale = lg.elementwise ? g.data() : &lg.scale;
                     kernels::cross_entropy_backward(ctx.input(0).data(), y.data(), lse.data(), n,
                                                     c, ls, scale, !lg.elementwise, gx.data());
                     return grad_list(std::move(gx));
                   });
  return with_double_backward(out, [y, n, c, ls, reduction](const Variable& g, const GraphCtx& ctx) {
    Tensor q = filled({std::size_t(n), std::size_t(c)}, ls / static_cast<float>(c));
    for (std::int64_t i = 0; i < n; ++i) q.data()[i * c + y.data()[i]] += 1.0f - ls;
    return cross_entropy_graph(g, ctx.input(0), Variable(std::move(q)), reduction);
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
  TG_CHECK(options.ignore_index < 0,
           "cross_entropy: ignore_index is not supported with probability targets (as in "
           "PyTorch), got ignore_index ", options.ignore_index);
  if (options.weight.defined())
    return weighted_soft_cross_entropy(logits, target, options.weight, options.label_smoothing,
                                       options.reduction);
  const CrossEntropyRows r(logits.value(), options);
  const float ls = r.ls;
  const std::int64_t n = r.n, c = r.c;
  Tensor loss = empty_tensor(r.rows), lse = empty_tensor(r.rows);
  kernels::soft_cross_entropy_forward(logits.value().data(), target.value().data(), n, c, ls,
                                      loss.data(), lse.data());
  const Reduction reduction = options.reduction;
  Variable out = record_op("cross_entropy", reduce("cross_entropy", std::move(loss), reduction), {logits, target},
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
  // Soft targets t, smoothed to q = (1 - ls) t + ls / C: the loss is -sum(q log softmax(x)),
  // its gradients softmax(x) sum(q) - q for x and -log_softmax(x) (1 - ls) for t.
  return with_double_backward(out, [ls, c, reduction](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
    const Variable x = ctx.input(0), t = ctx.input(1);
    const auto n = static_cast<std::int64_t>(x.shape()[0]);
    const Variable q = t * (1.0f - ls) + ls / static_cast<float>(c);
    const Variable scale = row_scale(g, reduction, n);
    std::vector<Variable> grads(2);
    if (ctx.needs(0)) grads[0] = (softmax(x, 1) * sum(q, 1, true) - q) * scale;
    if (ctx.needs(1)) grads[1] = neg(log_softmax(x, 1)) * (1.0f - ls) * scale;
    return grads;
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
  Variable out = record_op("nll_loss", reduce("nll_loss", std::move(loss), reduction), {log_probs},
                   [y, n, c, reduction](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     Tensor gx = empty_tensor(ctx.input(0).shape());
                     std::fill(gx.data(), gx.data() + gx.size(), 0.0f);
                     const LossGrad lg(g, reduction, n);
                     for (std::size_t i = 0; i < n; ++i)
                       gx.data()[i * c + static_cast<std::size_t>(y.data()[i])] = -lg[i];
                     return grad_list(std::move(gx));
                   });
  return with_double_backward(out, [y, n, c, reduction](const Variable& g, const GraphCtx&) -> std::vector<Variable> {
    Tensor onehot = filled({n, c}, 0.0f);
    for (std::size_t i = 0; i < n; ++i) onehot.data()[i * c + static_cast<std::size_t>(y.data()[i])] = -1.0f;
    return {Variable(std::move(onehot)) * row_scale(g, reduction, std::int64_t(n))};
  });
}

Variable mse_loss(const Variable& input, const Variable& target, Reduction reduction) {
  check_same_shape("mse_loss", input, target);
  const std::size_t n = input.numel();
  const float *a = input.value().data(), *b = target.value().data();
  Tensor loss = empty_tensor(input.shape());
  for (std::size_t i = 0; i < n; ++i) loss.data()[i] = (a[i] - b[i]) * (a[i] - b[i]);
  Variable out = record_op("mse_loss", reduce("mse_loss", std::move(loss), reduction), {input, target},
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
  return with_double_backward(out, [n, reduction](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
    const float scale = reduction == Reduction::Mean ? 2.0f / static_cast<float>(n) : 2.0f;
    const Variable ga = (ctx.input(0) - ctx.input(1)) * (g * scale);
    return {ctx.needs(0) ? ga : Variable(), ctx.needs(1) ? neg(ga) : Variable()};
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

Variable nll_loss(const Variable& log_probs, const Labels& labels, NLLLossOptions options) {
  TG_CHECK(log_probs.defined(), "nll_loss: expected defined log_probs, got an undefined variable");
  if (!options.weight.defined() && !any_label_is(labels, options.ignore_index))
    return nll_loss(log_probs, labels, options.reduction);
  return weighted_class_loss("nll_loss", log_probs, labels, options.weight, options.ignore_index,
                             0.0f, options.reduction, false);
}

Variable binary_cross_entropy(const Variable& input, const Variable& target,
                              BCELossOptions options) {
  const char* op = "binary_cross_entropy";
  check_same_shape(op, input, target);
  const std::size_t n = input.numel();
  const float *x = input.value().data(), *t = target.value().data();
  for (std::size_t i = 0; i < n; ++i)
    TG_CHECK(x[i] >= 0.0f && x[i] <= 1.0f, op, ": expected probabilities in [0, 1], got ", x[i],
             " at element ", i, " of ", shape_str(input.shape()),
             "; for logits use binary_cross_entropy_with_logits");
  std::vector<float> w = expand_weight(op, options.weight, input.shape());
  Tensor loss = empty_tensor(input.shape());
  for (std::size_t i = 0; i < n; ++i) {
    const float log_x = std::max(std::log(x[i]), -100.0f);
    const float log_1mx = std::max(std::log1p(-x[i]), -100.0f);
    loss.data()[i] = -w[i] * (t[i] * log_x + (1.0f - t[i]) * log_1mx);
  }
  const Reduction reduction = options.reduction;
  return record_op(op, reduce(op, std::move(loss), reduction), {input, target},
                   [n, w = std::move(w), reduction](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     const float *x = ctx.input(0).data(), *t = ctx.input(1).data();
                     Tensor gx = ctx.needs(0) ? empty_tensor(ctx.input(0).shape()) : Tensor();
                     Tensor gt = ctx.needs(1) ? empty_tensor(ctx.input(1).shape()) : Tensor();
                     for (std::size_t i = 0; i < n; ++i) {
                       const float gi = upstream(g, reduction, i, n) * w[i];
                       if (ctx.needs(0))  // PyTorch's eps keeps x = 0 or 1 finite
                         gx.data()[i] = gi * (x[i] - t[i]) / std::max((1.0f - x[i]) * x[i], 1e-12f);
                       if (ctx.needs(1)) gt.data()[i] = -gi * (std::log(x[i]) - std::log1p(-x[i]));
                     }
                     return grad_list(std::move(gx), std::move(gt));
                   });
}

namespace {

// smooth_l1 (scale 1) and huber (scale = delta) share one shape: with b = beta,
// f(d) = 0.5*d^2/b for |d| < b, else |d| - 0.5*b; huber = delta * f with b = delta.
Variable robust_loss(const char* op, const Variable& input, const Variable& target, double b,
                     double scale, Reduction reduction) {
  check_same_shape(op, input, target);
  const std::size_t n = input.numel();
  const float *x = input.value().data(), *t = target.value().data();
  Tensor loss = empty_tensor(input.shape());
  for (std::size_t i = 0; i < n; ++i) {
    const double d = double(x[i]) - t[i], a = std::abs(d);
    loss.data()[i] = static_cast<float>(scale * (a < b ? 0.5 * d * d / b : a - 0.5 * b));
  }
  return record_op(op, reduce(op, std::move(loss), reduction), {input, target},
                   [n, b, scale, reduction](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     const float *x = ctx.input(0).data(), *t = ctx.input(1).data();
                     Tensor gx = empty_tensor(ctx.input(0).shape());
                     for (std::size_t i = 0; i < n; ++i) {
                       const double d = double(x[i]) - t[i];
                       const double slope = d < -b ? -1.0 : d > b ? 1.0 : (b > 0 ? d / b : 0.0);
                       gx.data()[i] = static_cast<float>(scale * slope * upstream(g, reduction, i, n));
                     }
                     Tensor gt;
                     if (ctx.needs(1)) gt = -gx;
                     if (!ctx.needs(0)) gx = Tensor();
                     return grad_list(std::move(gx), std::move(gt));
                   });
}

}  // namespace

Variable smooth_l1_loss(const Variable& input, const Variable& target, SmoothL1LossOptions options) {
  TG_CHECK(options.beta >= 0.0, "smooth_l1_loss: expected beta >= 0, got ", options.beta);
  return robust_loss("smooth_l1_loss", input, target, options.beta, 1.0, options.reduction);
}

Variable huber_loss(const Variable& input, const Variable& target, HuberLossOptions options) {
  TG_CHECK(options.delta > 0.0, "huber_loss: expected delta > 0, got ", options.delta);
  return robust_loss("huber_loss", input, target, options.delta, options.delta, options.reduction);
}

}  // namespace tg
