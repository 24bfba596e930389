// Reductions. A tensor reduced along `dim` is seen as [outer, n, inner] (row-major).
#include "tapegrad/autograd/reduce.hpp"

#include <cmath>

#include <limits>

#include "tapegrad/autograd/elementwise.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/shape_ops.hpp"
#include "tapegrad/autograd/trace.hpp"
#include "tapegrad/autograd/kernels/map.hpp"

namespace tg {

std::size_t normalize_dim(std::int64_t dim, std::size_t rank, const char* op) {
  const auto r = static_cast<std::int64_t>(rank);
  TG_CHECK(dim >= -r && dim < r, op, ": expected dim in [", -r, ", ", r - 1, "], got ", dim);
  return static_cast<std::size_t>(dim < 0 ? dim + r : dim);
}

namespace {

struct Axis {
  std::size_t outer = 1, n = 1, inner = 1;
};

Axis split_at(const Shape& shape, std::size_t dim) {
  Axis a;
  for (std::size_t d = 0; d < shape.size(); ++d)
    (d < dim ? a.outer : d == dim ? a.n : a.inner) *= shape[d];
  return a;
}

Shape reduced_shape(const Shape& shape, std::size_t dim, bool keepdim) {
  Shape out = shape;
  if (keepdim)
    out[dim] = 1;
  else
    out.erase(out.begin() + std::ptrdiff_t(dim));
  return out;
}

// Copies g ([outer, inner]) along the reduced axis: the gradient of a sum.
Tensor expand_along(const Tensor& g, const Shape& shape, const Axis& a) {
  Tensor out = empty_tensor(shape);
  const float* gs = g.data();
  float* os = out.data();
  for (std::size_t o = 0; o < a.outer; ++o)
    for (std::size_t k = 0; k < a.n; ++k)
      std::copy(gs + o * a.inner, gs + (o + 1) * a.inner, os + (o * a.n + k) * a.inner);
  return out;
}

}  // namespace

Variable sum(const Variable& x) {
  const Tensor& v = x.value();
  double total = 0.0;  // double: float accumulation over 10^6 elements loses digits
  for (std::size_t i = 0; i < v.size(); ++i) total += v.data()[i];
  return with_double_backward(
      record_op("sum", filled(Shape{}, static_cast<float>(total)), {x},
                [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                  return grad_list(filled(ctx.input(0).shape(), g.data()[0]));
                }),
      [](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
        return {broadcast_to(g, ctx.input(0).shape())};
      });
}

Variable sum(const Variable& x, std::int64_t dim_arg, bool keepdim) {
  const std::size_t dim = normalize_dim(dim_arg, x.dim(), "sum");
  const Axis a = split_at(x.shape(), dim);
  Tensor out = filled(reduced_shape(x.shape(), dim, keepdim), 0.0f);
  const float* xs = x.value().data();
  float* os = out.data();
  for (std::size_t o = 0; o < a.outer; ++o)
    for (std::size_t k = 0; k < a.n; ++k)
      for (std::size_t i = 0; i < a.inner; ++i) os[o * a.inner + i] += xs[(o * a.n + k) * a.inner + i];
  if (trace::active()) trace::attributes("sum_dim", {{"dim", std::int64_t(dim)}, {"keepdim", std::int64_t(keepdim)}});
  return with_double_backward(
      record_op("sum_dim", std::move(out), {x},
                [a](Tensor g, const BackwardCtx& ctx) -> TensorList {
                  return grad_list(expand_along(g, ctx.input(0).shape(), a));
                }),
      [dim](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
        const Shape& in = ctx.input(0).shape();
        std::vector<std::int64_t> kept(in.begin(), in.end());
        kept[dim] = 1;
        return {broadcast_to(reshape(g, kept), in)};
      });
}

Variable mean(const Variable& x) {
  TG_CHECK(x.numel() > 0, "mean: expected a non-empty tensor, got shape ", shape_str(x.shape()));
  const Tensor& v = x.value();
  double total = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) total += v.data()[i];
  const double n = static_cast<double>(v.size());
  return with_double_backward(
      record_op("mean", filled(Shape{}, static_cast<float>(total / n)), {x},
                [n](Tensor g, const BackwardCtx& ctx) -> TensorList {
                  return grad_list(filled(ctx.input(0).shape(), static_cast<float>(g.data()[0] / n)));
                }),
      [n](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
        return {broadcast_to(g * static_cast<float>(1.0 / n), ctx.input(0).shape())};
      });
}

Variable mean(const Variable& x, std::int64_t dim_arg, bool keepdim) {
  const std::size_t dim = normalize_dim(dim_arg, x.dim(), "mean");
  TG_CHECK(x.shape()[dim] > 0, "mean: expected a non-empty dim ", dim_arg, ", got shape ",
           shape_str(x.shape()));
  const Axis a = split_at(x.shape(), dim);
  std::vector<double> acc(a.outer * a.inner, 0.0);
  const float* xs = x.value().data();
  for (std::size_t o = 0; o < a.outer; ++o)
    for (std::size_t k = 0; k < a.n; ++k)
      for (std::size_t i = 0; i < a.inner; ++i) acc[o * a.inner + i] += xs[(o * a.n + k) * a.inner + i];
  Tensor out = empty_tensor(reduced_shape(x.shape(), dim, keepdim));
  const float scale = 1.0f / static_cast<float>(a.n);
  for (std::size_t j = 0; j < acc.size(); ++j) out.data()[j] = static_cast<float>(acc[j] / double(a.n));
  if (trace::active()) trace::attributes("mean_dim", {{"dim", std::int64_t(dim)}, {"keepdim", std::int64_t(keepdim)}});
  return with_double_backward(
      record_op("mean_dim", std::move(out), {x},
                [a, scale](Tensor g, const BackwardCtx& ctx) -> TensorList {
                  Tensor gx = expand_along(g, ctx.input(0).shape(), a);
                  for (float& v : gx) v *= scale;
                  return grad_list(std::move(gx));
                }),
      [dim, scale](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
        const Shape& in = ctx.input(0).shape();
        std::vector<std::int64_t> kept(in.begin(), in.end());
        kept[dim] = 1;
        return {broadcast_to(reshape(g, kept) * scale, in)};
      });
}

Variable max(const Variable& x) {
  const Tensor& v = x.value();
  TG_CHECK(v.size() > 0, "max: expected a non-empty tensor, got shape ", shape_str(v.shape()));
  std::size_t best = 0;
  // NaN wins, as in PyTorch: a NaN anywhere is the maximum.
  for (std::size_t i = 1; i < v.size() && !std::isnan(v.data()[best]); ++i)
    if (v.data()[i] > v.data()[best] || std::isnan(v.data()[i])) best = i;
  return record_op("max", filled(Shape{}, v.data()[best]), {x},
                   [best](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     Tensor gx = filled(ctx.input(0).shape(), 0.0f);
                     gx.data()[best] = g.data()[0];
                     return grad_list(std::move(gx));
                   });
}

namespace {
// Whether v replaces the current best: larger (smaller), or the first NaN, as PyTorch.
bool beats_max(float v, float current) { return v > current || (std::isnan(v) && !std::isnan(current)); }
bool beats_min(float v, float current) { return v < current || (std::isnan(v) && !std::isnan(current)); }

// Index along the axis of the first best element, for each (outer, inner).
template <class Beats>
std::vector<std::size_t> argbest_along(const Tensor& x, const Axis& a, Beats beats) {
  std::vector<std::size_t> best(a.outer * a.inner, 0);
  const float* xs = x.data();
  for (std::size_t o = 0; o < a.outer; ++o)
    for (std::size_t k = 1; k < a.n; ++k)
      for (std::size_t i = 0; i < a.inner; ++i) {
        std::size_t& b = best[o * a.inner + i];
        if (beats(xs[(o * a.n + k) * a.inner + i], xs[(o * a.n + b) * a.inner + i])) b = k;
      }
  return best;
}
std::vector<std::size_t> argmax_along(const Tensor& x, const Axis& a) { return argbest_along(x, a, beats_max); }
}  // namespace

namespace {
// max or min along a dim: the values, and the gradient sent to the winning element of each row.
template <class Beats>
Variable best_along_dim(const Variable& x, std::int64_t dim_arg, bool keepdim, const char* name,
                        const char* op, Beats beats) {
  const std::size_t dim = normalize_dim(dim_arg, x.dim(), name);
  const Axis a = split_at(x.shape(), dim);
  TG_CHECK(a.n > 0, name, ": expected a non-empty dim ", dim_arg, ", got shape ", shape_str(x.shape()));
  auto best = argbest_along(x.value(), a, beats);
  Tensor out = empty_tensor(reduced_shape(x.shape(), dim, keepdim));
  for (std::size_t j = 0; j < best.size(); ++j) {
    const std::size_t o = j / a.inner, i = j % a.inner;
    out.data()[j] = x.value().data()[(o * a.n + best[j]) * a.inner + i];
  }
  if (trace::active()) trace::attributes(op, {{"dim", std::int64_t(dim)}, {"keepdim", std::int64_t(keepdim)}});
  return record_op(op, std::move(out), {x},
                   [a, best = std::move(best)](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     Tensor gx = filled(ctx.input(0).shape(), 0.0f);
                     for (std::size_t j = 0; j < best.size(); ++j) {
                       const std::size_t o = j / a.inner, i = j % a.inner;
                       gx.data()[(o * a.n + best[j]) * a.inner + i] = g.data()[j];
                     }
                     return grad_list(std::move(gx));
                   });
}
}  // namespace

Variable max(const Variable& x, std::int64_t dim_arg, bool keepdim) {
  return best_along_dim(x, dim_arg, keepdim, "max", "max_dim", beats_max);
}

Labels argmax(const Tensor& x, std::int64_t dim_arg) {
  const std::size_t dim = normalize_dim(dim_arg, x.dimension(), "argmax");
  const Axis a = split_at(x.shape(), dim);
  TG_CHECK(a.n > 0, "argmax: expected a non-empty dim ", dim_arg, ", got shape ", shape_str(x.shape()));
  const auto best = argmax_along(x, a);
  Shape s = reduced_shape(x.shape(), dim, false);
  Labels out = Labels::from_shape(s);
  for (std::size_t j = 0; j < best.size(); ++j) out.data()[j] = static_cast<std::int64_t>(best[j]);
  return out;
}

namespace {

// The best element of the whole tensor (min), gradient to the first one.
template <class Beats>
Variable best_of_all(const Variable& x, const char* op, Beats beats) {
  const Tensor& v = x.value();
  TG_CHECK(v.size() > 0, op, ": expected a non-empty tensor, got shape ", shape_str(v.shape()));
  std::size_t best = 0;
  for (std::size_t i = 1; i < v.size() && !std::isnan(v.data()[best]); ++i)
    if (beats(v.data()[i], v.data()[best])) best = i;
  return record_op(op, filled(Shape{}, v.data()[best]), {x},
                   [best](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     Tensor gx = filled(ctx.input(0).shape(), 0.0f);
                     gx.data()[best] = g.data()[0];
                     return grad_list(std::move(gx));
                   });
}

Labels indices_to_labels(const std::vector<std::size_t>& best, Shape shape) {
  Labels out = Labels::from_shape(shape);
  for (std::size_t j = 0; j < best.size(); ++j) out.data()[j] = static_cast<std::int64_t>(best[j]);
  return out;
}

}  // namespace

Variable min(const Variable& x) { return best_of_all(x, "min", beats_min); }

Variable min(const Variable& x, std::int64_t dim_arg, bool keepdim) {
  return best_along_dim(x, dim_arg, keepdim, "min", "min_dim", beats_min);
}

Labels argmin(const Tensor& x, std::int64_t dim_arg) {
  const std::size_t dim = normalize_dim(dim_arg, x.dimension(), "argmin");
  const Axis a = split_at(x.shape(), dim);
  TG_CHECK(a.n > 0, "argmin: expected a non-empty dim ", dim_arg, ", got shape ", shape_str(x.shape()));
  return indices_to_labels(argbest_along(x, a, beats_min), reduced_shape(x.shape(), dim, false));
}

namespace {

// (sum |x|^p)^(1/p) over the axis of `a`, with p = 2 and p = 1 exact paths.
Variable norm_along(const Variable& x, float p, const Axis& a, Shape out_shape, const char* op) {
  TG_CHECK(p > 0.0f && std::isfinite(p), op, ": expected a finite p > 0, got ", p);
  std::vector<double> acc(a.outer * a.inner, 0.0);
  const float* xs = x.value().data();
  for (std::size_t o = 0; o < a.outer; ++o)
    for (std::size_t k = 0; k < a.n; ++k)
      for (std::size_t i = 0; i < a.inner; ++i) {
        const double v = std::fabs(static_cast<double>(xs[(o * a.n + k) * a.inner + i]));
        acc[o * a.inner + i] += p == 2.0f ? v * v : p == 1.0f ? v : std::pow(v, double(p));
      }
  Tensor out = empty_tensor(out_shape);
  for (std::size_t j = 0; j < acc.size(); ++j)
    out.data()[j] = static_cast<float>(p == 2.0f ? std::sqrt(acc[j]) : p == 1.0f ? acc[j] : std::pow(acc[j], 1.0 / p));
  Variable y = record_op(op, std::move(out), {x},
                   [a, p](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     // d||x||_p/dx = sign(x) |x|^(p-1) / ||x||^(p-1); 0 where the norm is 0.
                     const Tensor& in = ctx.input(0);
                     const float* norms = ctx.output().data();
                     Tensor gx = empty_tensor(in.shape());
                     for (std::size_t o = 0; o < a.outer; ++o)
                       for (std::size_t k = 0; k < a.n; ++k)
                         for (std::size_t i = 0; i < a.inner; ++i) {
                           const std::size_t j = o * a.inner + i, e = (o * a.n + k) * a.inner + i;
                           const float n = norms[j], v = in.data()[e];
                           float d = 0.0f;
                           if (n != 0.0f) {
                             const float sign = v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f);
                             d = p == 2.0f ? v / n
                                 : p == 1.0f ? sign
                                             : sign * std::pow(std::fabs(v) / n, p - 1.0f);
                           }
                           gx.data()[e] = g.data()[j] * d;
                         }
                     return grad_list(std::move(gx));
                   });
  // The same rule on Variables, on the tensor seen as [outer, n, inner]: g sign(x) (|x| / norm)^(p-1),
  // 0 where the norm is 0 (a zero norm is replaced by 1 before dividing, then masked).
  return with_double_backward(y, [a, p](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
    const Variable x = ctx.input(0);
    const auto outer = std::int64_t(a.outer), n = std::int64_t(a.n), inner = std::int64_t(a.inner);
    const Variable x3 = reshape(x, {outer, n, inner});
    const Variable norms = reshape(ctx.output(), {outer, 1, inner});
    const Tensor zero = kernels::map(norms.value(), [](float v) { return v == 0.0f ? 1.0f : 0.0f; });
    const Variable safe = norms + Variable(zero), nonzero = Variable(filled(zero.shape(), 1.0f) - zero);
    const Variable g3 = reshape(g, {outer, 1, inner}) * nonzero;
    Variable d;
    if (p == 2.0f) d = x3 / safe;
    else if (p == 1.0f) d = Variable(kernels::map(x3.value(), [](float v) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); }));
    else d = Variable(kernels::map(x3.value(), [](float v) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); })) * pow(abs(x3) / safe, p - 1.0f);
    const Shape& xs = x.shape();
    return {reshape(g3 * d, std::vector<std::int64_t>(xs.begin(), xs.end()))};
  });
}

// 0/1 results of all (every element non-zero) or any along the axis of `a`; not recorded.
Variable truth_along(const Variable& x, const Axis& a, Shape out_shape, bool want_all) {
  Tensor out = filled(out_shape, want_all ? 1.0f : 0.0f);
  const float* xs = x.value().data();
  for (std::size_t o = 0; o < a.outer; ++o)
    for (std::size_t k = 0; k < a.n; ++k)
      for (std::size_t i = 0; i < a.inner; ++i) {
        const bool nonzero = xs[(o * a.n + k) * a.inner + i] != 0.0f;  // NaN != 0
        float& r = out.data()[o * a.inner + i];
        if (want_all && !nonzero) r = 0.0f;
        if (!want_all && nonzero) r = 1.0f;
      }
  return Variable(std::move(out));
}

Axis whole(const Variable& x) { return Axis{1, x.numel(), 1}; }

}  // namespace

Variable norm(const Variable& x, float p) { return norm_along(x, p, whole(x), Shape{}, "norm"); }

Variable norm(const Variable& x, float p, std::int64_t dim_arg, bool keepdim) {
  const std::size_t dim = normalize_dim(dim_arg, x.dim(), "norm");
  return norm_along(x, p, split_at(x.shape(), dim), reduced_shape(x.shape(), dim, keepdim), "norm_dim");
}

Variable all(const Variable& x) { return truth_along(x, whole(x), Shape{}, true); }
Variable all(const Variable& x, std::int64_t dim_arg, bool keepdim) {
  const std::size_t dim = normalize_dim(dim_arg, x.dim(), "all");
  return truth_along(x, split_at(x.shape(), dim), reduced_shape(x.shape(), dim, keepdim), true);
}
Variable any(const Variable& x) { return truth_along(x, whole(x), Shape{}, false); }
Variable any(const Variable& x, std::int64_t dim_arg, bool keepdim) {
  const std::size_t dim = normalize_dim(dim_arg, x.dim(), "any");
  return truth_along(x, split_at(x.shape(), dim), reduced_shape(x.shape(), dim, keepdim), false);
}

}  // namespace tg
