// Reductions. A tensor reduced along `dim` is seen as [outer, n, inner] (row-major).
#include "tapegrad/autograd/reduce.hpp"

#include <cmath>

#include <limits>

#include "tapegrad/autograd/elementwise.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/trace.hpp"

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
  return record_op("sum", filled(Shape{}, static_cast<float>(total)), {x},
                   [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     return grad_list(filled(ctx.input(0).shape(), g.data()[0]));
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
  return record_op("sum_dim", std::move(out), {x},
                   [a](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     return grad_list(expand_along(g, ctx.input(0).shape(), a));
                   });
}

Variable mean(const Variable& x) {
  TG_CHECK(x.numel() > 0, "mean: expected a non-empty tensor, got shape ", shape_str(x.shape()));
  return sum(x) * (1.0f / static_cast<float>(x.numel()));
}

Variable mean(const Variable& x, std::int64_t dim, bool keepdim) {
  const std::size_t d = normalize_dim(dim, x.dim(), "mean");
  TG_CHECK(x.shape()[d] > 0, "mean: expected a non-empty dim ", dim, ", got shape ", shape_str(x.shape()));
  return sum(x, dim, keepdim) * (1.0f / static_cast<float>(x.shape()[d]));
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
// Index along the axis of the first maximum (or first NaN, as PyTorch), for each (outer, inner).
std::vector<std::size_t> argmax_along(const Tensor& x, const Axis& a) {
  std::vector<std::size_t> best(a.outer * a.inner, 0);
  const float* xs = x.data();
  for (std::size_t o = 0; o < a.outer; ++o)
    for (std::size_t k = 1; k < a.n; ++k)
      for (std::size_t i = 0; i < a.inner; ++i) {
        std::size_t& b = best[o * a.inner + i];
        const float v = xs[(o * a.n + k) * a.inner + i], current = xs[(o * a.n + b) * a.inner + i];
        if (v > current || (std::isnan(v) && !std::isnan(current))) b = k;
      }
  return best;
}
}  // namespace

Variable max(const Variable& x, std::int64_t dim_arg, bool keepdim) {
  const std::size_t dim = normalize_dim(dim_arg, x.dim(), "max");
  const Axis a = split_at(x.shape(), dim);
  TG_CHECK(a.n > 0, "max: expected a non-empty dim ", dim_arg, ", got shape ", shape_str(x.shape()));
  auto best = argmax_along(x.value(), a);
  Tensor out = empty_tensor(reduced_shape(x.shape(), dim, keepdim));
  for (std::size_t j = 0; j < best.size(); ++j) {
    const std::size_t o = j / a.inner, i = j % a.inner;
    out.data()[j] = x.value().data()[(o * a.n + best[j]) * a.inner + i];
  }
  if (trace::active()) trace::attributes("max_dim", {{"dim", std::int64_t(dim)}, {"keepdim", std::int64_t(keepdim)}});
  return record_op("max_dim", std::move(out), {x},
                   [a, best = std::move(best)](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     Tensor gx = filled(ctx.input(0).shape(), 0.0f);
                     for (std::size_t j = 0; j < best.size(); ++j) {
                       const std::size_t o = j / a.inner, i = j % a.inner;
                       gx.data()[(o * a.n + best[j]) * a.inner + i] = g.data()[j];
                     }
                     return grad_list(std::move(gx));
                   });
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

}  // namespace tg
