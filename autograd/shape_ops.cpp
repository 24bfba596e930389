// Ops that move elements. Results are contiguous copies (no strided views), so every kernel
// downstream can assume row-major contiguous data.
#include "tapegrad/autograd/shape_ops.hpp"

#include <algorithm>
#include <cstring>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/trace.hpp"
#include "tapegrad/autograd/reduce.hpp"

namespace tg {

namespace {

Shape infer_shape(const Shape& from, const std::vector<std::int64_t>& to, const char* op) {
  Shape out(to.size());
  std::size_t known = 1;
  std::ptrdiff_t free_dim = -1;
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (to[i] == -1) {
      TG_CHECK(free_dim < 0, op, ": expected at most one -1 in the shape, got ", shape_str(to));
      free_dim = std::ptrdiff_t(i);
      continue;
    }
    TG_CHECK(to[i] >= 0, op, ": expected non-negative sizes (or one -1), got ", shape_str(to));
    out[i] = std::size_t(to[i]);
    known *= out[i];
  }
  const std::size_t n = numel_of(from);
  if (free_dim >= 0) {
    TG_CHECK(known > 0 && n % known == 0, op, ": expected a shape compatible with ",
             shape_str(from), " (", n, " elements), got ", shape_str(to));
    out[std::size_t(free_dim)] = n / known;
  }
  TG_CHECK(numel_of(out) == n, op, ": expected a shape with ", n, " elements like ",
           shape_str(from), ", got ", shape_str(to));
  return out;
}

Tensor reshaped(Tensor t, const Shape& shape) {
  t.reshape(shape);
  return t;
}

}  // namespace

Variable reshape(const Variable& x, const std::vector<std::int64_t>& shape) {
  const Shape out = infer_shape(x.shape(), shape, "view");
  return with_double_backward(
      record_op("view", reshaped(x.value(), out), {x},
                [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                  return grad_list(reshaped(std::move(g), ctx.input(0).shape()));
                }),
      [](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
        const Shape& s = ctx.input(0).shape();
        return {reshape(g, std::vector<std::int64_t>(s.begin(), s.end()))};
      });
}

Variable flatten(const Variable& x, std::int64_t start_dim, std::int64_t end_dim) {
  const std::size_t rank = std::max<std::size_t>(x.dim(), 1);
  const std::size_t start = normalize_dim(start_dim, rank, "flatten");
  const std::size_t end = normalize_dim(end_dim, rank, "flatten");
  TG_CHECK(start <= end, "flatten: expected start_dim <= end_dim, got ", start_dim, " > ", end_dim);
  std::vector<std::int64_t> shape;
  const Shape& s = x.shape();
  for (std::size_t d = 0; d < s.size(); ++d) {
    if (d <= start || d > end)
      shape.push_back(std::int64_t(s[d]));
    else
      shape.back() *= std::int64_t(s[d]);
  }
  if (s.empty()) shape.push_back(1);
  return reshape(x, shape);
}

namespace {
std::vector<std::int64_t> sizes_of(const Shape& s) { return std::vector<std::int64_t>(s.begin(), s.end()); }
}  // namespace

Variable unsqueeze(const Variable& x, std::int64_t dim) {
  const std::size_t d = normalize_dim(dim, x.dim() + 1, "unsqueeze");
  auto sizes = sizes_of(x.shape());
  sizes.insert(sizes.begin() + std::ptrdiff_t(d), 1);
  return reshape(x, sizes);
}

Variable squeeze(const Variable& x) {
  std::vector<std::int64_t> sizes;
  for (std::size_t n : x.shape())
    if (n != 1) sizes.push_back(std::int64_t(n));
  return reshape(x, sizes);
}

Variable squeeze(const Variable& x, std::int64_t dim) {
  auto sizes = sizes_of(x.shape());
  if (x.dim() == 0) {
    normalize_dim(dim, 1, "squeeze");  // a 0-d tensor takes dim 0 or -1, as in PyTorch
    return reshape(x, sizes);
  }
  const std::size_t d = normalize_dim(dim, x.dim(), "squeeze");
  if (sizes[d] == 1) sizes.erase(sizes.begin() + std::ptrdiff_t(d));
  return reshape(x, sizes);
}

Variable t(const Variable& x) {
  TG_CHECK(x.dim() <= 2, "t: expected a tensor of at most 2 dimensions, got shape ",
           shape_str(x.shape()), "; use transpose(dim0, dim1) or permute");
  return x.dim() < 2 ? x : transpose(x, 0, 1);
}

Tensor permute_tensor(const Tensor& x, const std::vector<std::size_t>& dims) {
  const Shape& in = x.shape();
  const std::size_t rank = in.size();
  Shape out_shape(rank);
  std::vector<std::size_t> in_strides(rank, 1), step(rank);
  for (std::size_t d = rank; d-- > 1;) in_strides[d - 1] = in_strides[d] * in[d];
  for (std::size_t d = 0; d < rank; ++d) {
    out_shape[d] = in[dims[d]];
    step[d] = in_strides[dims[d]];
  }
  Tensor out = empty_tensor(out_shape);
  std::vector<std::size_t> index(rank, 0);
  std::size_t offset = 0;
  const float* xs = x.data();
  float* os = out.data();
  for (std::size_t i = 0; i < out.size(); ++i) {
    os[i] = xs[offset];
    for (std::size_t d = rank; d-- > 0;) {
      offset += step[d];
      if (++index[d] < out_shape[d]) break;
      offset -= step[d] * out_shape[d];
      index[d] = 0;
    }
  }
  return out;
}

Variable permute(const Variable& x, const std::vector<std::int64_t>& dims_arg) {
  const std::size_t rank = x.dim();
  TG_CHECK(dims_arg.size() == rank, "permute: expected ", rank, " dims for shape ",
           shape_str(x.shape()), ", got ", shape_str(dims_arg));
  std::vector<std::size_t> dims(rank), inverse(rank, rank);
  for (std::size_t d = 0; d < rank; ++d) {
    dims[d] = normalize_dim(dims_arg[d], rank, "permute");
    TG_CHECK(inverse[dims[d]] == rank, "permute: expected each dim once, got ", shape_str(dims_arg));
    inverse[dims[d]] = d;
  }
  if (trace::active()) trace::attributes("permute", {{"dims", dims_arg}});
  return with_double_backward(
      record_op("permute", permute_tensor(x.value(), dims), {x},
                [inverse](Tensor g, const BackwardCtx&) -> TensorList {
                  return grad_list(permute_tensor(g, inverse));
                }),
      [inverse](const Variable& g, const GraphCtx&) -> std::vector<Variable> {
        return {permute(g, std::vector<std::int64_t>(inverse.begin(), inverse.end()))};
      });
}

Variable transpose(const Variable& x, std::int64_t dim0, std::int64_t dim1) {
  const std::size_t rank = x.dim();
  const std::size_t a = normalize_dim(dim0, rank, "transpose"), b = normalize_dim(dim1, rank, "transpose");
  std::vector<std::int64_t> dims(rank);
  for (std::size_t d = 0; d < rank; ++d) dims[d] = std::int64_t(d);
  std::swap(dims[a], dims[b]);
  return permute(x, dims);
}

namespace {
// Sizes of a tensor split around `dim`: [outer, n, inner].
struct Split3 {
  std::size_t outer = 1, n = 1, inner = 1;
};
Split3 split3(const Shape& s, std::size_t dim) {
  Split3 r;
  for (std::size_t d = 0; d < s.size(); ++d) (d < dim ? r.outer : d == dim ? r.n : r.inner) *= s[d];
  return r;
}
}  // namespace

Variable cat(const std::vector<Variable>& xs, std::int64_t dim_arg) {
  TG_CHECK(!xs.empty(), "cat: expected at least one tensor, got none");
  const Shape& first = xs[0].shape();
  const std::size_t dim = normalize_dim(dim_arg, first.size(), "cat");
  Shape out_shape = first;
  out_shape[dim] = 0;
  for (const auto& x : xs) {
    Shape s = x.shape();
    TG_CHECK(s.size() == first.size(), "cat: expected tensors of rank ", first.size(), ", got ",
             shape_str(first), " and ", shape_str(s));
    out_shape[dim] += s[dim];
    s[dim] = first[dim];
    TG_CHECK(s == first, "cat: expected equal sizes except along dim ", dim_arg, ", got ",
             shape_str(first), " and ", shape_str(x.shape()));
  }
  Tensor out = empty_tensor(out_shape);
  const Split3 o = split3(out_shape, dim);
  std::vector<std::size_t> starts;
  std::size_t at = 0;
  for (const auto& x : xs) {
    const Split3 p = split3(x.shape(), dim);
    for (std::size_t i = 0; i < p.outer; ++i)
      std::memcpy(out.data() + (i * o.n + at) * o.inner, x.value().data() + i * p.n * p.inner,
                  p.n * p.inner * sizeof(float));
    starts.push_back(at);
    at += p.n;
  }
  if (trace::active()) trace::attributes("cat", {{"dim", std::int64_t(dim)}});
  Variable y = record_op("cat", std::move(out), xs,
                   [dim, starts](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     const Split3 o = split3(g.shape(), dim);
                     TensorList grads(ctx.num_inputs());
                     for (std::size_t k = 0; k < grads.size(); ++k) {
                       if (!ctx.needs(k)) continue;
                       const Split3 p = split3(ctx.input(k).shape(), dim);
                       grads[k] = empty_tensor(ctx.input(k).shape());
                       for (std::size_t i = 0; i < p.outer; ++i)
                         std::memcpy(grads[k].data() + i * p.n * p.inner,
                                     g.data() + (i * o.n + starts[k]) * o.inner,
                                     p.n * p.inner * sizeof(float));
                     }
                     return grads;
                   });
  return with_double_backward(y, [dim, starts](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
    std::vector<Variable> grads(ctx.num_inputs());
    for (std::size_t k = 0; k < grads.size(); ++k) {
      const auto n = std::int64_t(ctx.input(k).shape()[dim]);
      if (ctx.needs(k)) grads[k] = slice(g, std::int64_t(dim), std::int64_t(starts[k]), std::int64_t(starts[k]) + n);
    }
    return grads;
  });
}

namespace {

// Rows start, start + step, ... (len of them) along the middle axis of x ([outer, n, inner]).
Tensor slice_rows(const Tensor& x, const Shape& out_shape, const Split3& p, std::size_t len,
                  std::int64_t start, std::int64_t step) {
  Tensor out = empty_tensor(out_shape);
  for (std::size_t i = 0; i < p.outer; ++i)
    for (std::size_t k = 0; k < len; ++k)
      std::memcpy(out.data() + (i * len + k) * p.inner,
                  x.data() + (i * p.n + std::size_t(start) + k * std::size_t(step)) * p.inner,
                  p.inner * sizeof(float));
  return out;
}

// The reverse: g's rows put back in place, zeros elsewhere (slice's gradient).
Tensor unslice_rows(const Tensor& g, const Shape& in_shape, const Split3& p, std::size_t len,
                    std::int64_t start, std::int64_t step) {
  Tensor gx = filled(in_shape, 0.0f);
  for (std::size_t i = 0; i < p.outer; ++i)
    for (std::size_t k = 0; k < len; ++k)
      std::memcpy(gx.data() + (i * p.n + std::size_t(start) + k * std::size_t(step)) * p.inner,
                  g.data() + (i * len + k) * p.inner, p.inner * sizeof(float));
  return gx;
}

// slice's gradient as an op of its own, so that it can be differentiated again (by slice).
Variable unslice(const Variable& g, const Shape& in_shape, std::size_t dim, const Split3& p,
                 std::size_t len, std::int64_t start, std::int64_t step) {
  return with_double_backward(
      record_op("slice_backward", unslice_rows(g.value(), in_shape, p, len, start, step), {g},
                [p, len, start, step](Tensor gg, const BackwardCtx& ctx) -> TensorList {
                  return grad_list(slice_rows(gg, ctx.input(0).shape(), p, len, start, step));
                }),
      [dim, start, len, step](const Variable& gg, const GraphCtx&) -> std::vector<Variable> {
        return {slice(gg, std::int64_t(dim), start, start + std::int64_t(len) * step, step)};
      });
}

}  // namespace

Variable slice(const Variable& x, std::int64_t dim_arg, std::int64_t start, std::int64_t end,
               std::int64_t step) {
  const std::size_t dim = normalize_dim(dim_arg, x.dim(), "slice");
  TG_CHECK(step > 0, "slice: expected a positive step, got ", step);
  const auto n = std::int64_t(x.shape()[dim]);
  // Python's clamping: negative counts from the end, out-of-range is clipped.
  auto clip = [n](std::int64_t i) { return std::clamp(i < 0 ? i + n : i, std::int64_t{0}, n); };
  start = clip(start);
  end = std::max(clip(end), start);
  const std::size_t len = std::size_t((end - start + step - 1) / step);
  Shape out_shape = x.shape();
  out_shape[dim] = len;
  const Split3 p = split3(x.shape(), dim);
  Tensor out = slice_rows(x.value(), out_shape, p, len, start, step);
  if (trace::active()) trace::attributes("slice", {{"dim", std::int64_t(dim)}, {"start", start}, {"end", end}, {"step", step}});
  return with_double_backward(
      record_op("slice", std::move(out), {x},
                [p, len, start, step](Tensor g, const BackwardCtx& ctx) -> TensorList {
                  return grad_list(unslice_rows(g, ctx.input(0).shape(), p, len, start, step));
                }),
      [dim, p, len, start, step](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
        return {unslice(g, ctx.input(0).shape(), dim, p, len, start, step)};
      });
}

Variable narrow(const Variable& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  const std::size_t d = normalize_dim(dim, x.dim(), "narrow");
  const auto n = std::int64_t(x.shape()[d]);
  TG_CHECK(start >= -n && start <= n && length >= 0 && (start < 0 ? start + n : start) + length <= n,
           "narrow: expected start + length <= ", n, " along dim ", dim, " of ",
           shape_str(x.shape()), ", got start ", start, ", length ", length);
  if (start < 0) start += n;
  return slice(x, dim, start, start + length, 1);
}

// Variable's shape methods are the free functions above.
Variable Variable::view(const std::vector<std::int64_t>& shape) const { return tg::reshape(*this, shape); }
Variable Variable::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  return tg::flatten(*this, start_dim, end_dim);
}
Variable Variable::transpose(std::int64_t d0, std::int64_t d1) const { return tg::transpose(*this, d0, d1); }
Variable Variable::permute(const std::vector<std::int64_t>& dims) const { return tg::permute(*this, dims); }

}  // namespace tg
