// Elementwise ops: each forward with its backward rule right below it.
#include "tapegrad/autograd/elementwise.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/trace.hpp"
#include "tapegrad/autograd/kernels/map.hpp"
#include "tapegrad/autograd/kernels/relu.hpp"

namespace tg {

using kernels::broadcast_zip;
using kernels::map;
using kernels::zip;
using kernels::zip3;

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  if (a == b) return a;
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::size_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::size_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    TG_CHECK(da == db || da == 1 || db == 1, op, ": expected shapes that broadcast, got ",
             shape_str(a), " and ", shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace kernels {
std::vector<std::ptrdiff_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<std::ptrdiff_t> strides(out.size(), 0);
  std::ptrdiff_t stride = 1;
  for (std::size_t k = 0; k < in.size(); ++k) {
    const std::size_t d_in = in.size() - 1 - k, d_out = out.size() - 1 - k;
    strides[d_out] = in[d_in] == 1 ? 0 : stride;
    stride *= std::ptrdiff_t(in[d_in]);
  }
  return strides;
}
}  // namespace kernels

Tensor sum_to(Tensor grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  Tensor out = filled(shape, 0.0f);
  const auto strides = kernels::broadcast_strides(shape, grad.shape());
  const Shape& gshape = grad.shape();
  const std::size_t rank = gshape.size();
  std::vector<std::size_t> index(rank, 0);
  std::ptrdiff_t offset = 0;
  const float* g = grad.data();
  float* o = out.data();
  for (std::size_t i = 0; i < grad.size(); ++i) {
    o[offset] += g[i];
    for (std::size_t d = rank; d-- > 0;) {
      offset += strides[d];
      if (++index[d] < gshape[d]) break;
      offset -= strides[d] * std::ptrdiff_t(gshape[d]);
      index[d] = 0;
    }
  }
  return out;
}

namespace {
Tensor broadcast_tensor(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  Tensor out = empty_tensor(shape);
  const auto strides = kernels::broadcast_strides(x.shape(), shape);
  const std::size_t rank = shape.size();
  std::vector<std::size_t> index(rank, 0);
  std::ptrdiff_t offset = 0;
  const float* xs = x.data();
  float* o = out.data();
  for (std::size_t i = 0; i < out.size(); ++i) {
    o[i] = xs[offset];
    for (std::size_t d = rank; d-- > 0;) {
      offset += strides[d];
      if (++index[d] < shape[d]) break;
      offset -= strides[d] * std::ptrdiff_t(shape[d]);
      index[d] = 0;
    }
  }
  return out;
}
}  // namespace

// broadcast_to and sum_to are each other's gradient, to any order.
Variable broadcast_to(const Variable& x, const Shape& shape) {
  TG_CHECK(broadcast_shapes(x.shape(), shape, "broadcast_to") == shape, "broadcast_to: expected a "
           "shape that ", shape_str(x.shape()), " broadcasts to, got ", shape_str(shape));
  if (x.shape() == shape) return x;
  return with_double_backward(
      record_op("broadcast_to", broadcast_tensor(x.value(), shape), {x},
                [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                  return grad_list(sum_to(std::move(g), ctx.input(0).shape()));
                }),
      [](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
        return {sum_to(g, ctx.input(0).shape())};
      });
}

Variable sum_to(const Variable& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  TG_CHECK(broadcast_shapes(x.shape(), shape, "sum_to") == x.shape(), "sum_to: expected a shape that "
           "broadcasts to ", shape_str(x.shape()), ", got ", shape_str(shape));
  return with_double_backward(
      record_op("sum_to", sum_to(x.value(), shape), {x},
                [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                  return grad_list(broadcast_tensor(g, ctx.input(0).shape()));
                }),
      [](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
        return {broadcast_to(g, ctx.input(0).shape())};
      });
}

// ---- binary ops with broadcasting ----

// ---- double-backward rules: the first-order rules, written with Variable ops ----

namespace {

// A gradient rule's constant factor (a mask, a sign): no gradient flows into it.
Variable constant(Tensor t) { return Variable(std::move(t)); }

// The relu mask of an output, as a constant (relu's second derivative is 0 almost everywhere).
Variable relu_mask(const Tensor& out) {
  return constant(map(out, [](float o) { return o > 0.0f ? 1.0f : 0.0f; }));
}


std::vector<Variable> sub_graph(const Variable& g, const GraphCtx& ctx) {
  return {ctx.needs(0) ? sum_to(g, ctx.input(0).shape()) : Variable(),
          ctx.needs(1) ? sum_to(neg(g), ctx.input(1).shape()) : Variable()};
}
std::vector<Variable> mul_graph(const Variable& g, const GraphCtx& ctx) {
  return {ctx.needs(0) ? sum_to(g * ctx.input(1), ctx.input(0).shape()) : Variable(),
          ctx.needs(1) ? sum_to(g * ctx.input(0), ctx.input(1).shape()) : Variable()};
}
std::vector<Variable> div_graph(const Variable& g, const GraphCtx& ctx) {
  const Variable x = ctx.input(0), y = ctx.input(1);
  return {ctx.needs(0) ? sum_to(g / y, x.shape()) : Variable(),
          ctx.needs(1) ? sum_to(neg(g * x / (y * y)), y.shape()) : Variable()};
}
// d(b^e)/db = e b^(e-1) (0 where e = 0), d(b^e)/de = b^e log b (0 where b^e = 0), as first order.
std::vector<Variable> pow_graph(const Variable& g, const GraphCtx& ctx) {
  const Variable b = ctx.input(0), e = ctx.input(1);
  const Shape& shape = ctx.output().shape();
  std::vector<Variable> grads(2);
  if (ctx.needs(0)) {
    Variable e_nonzero = constant(map(broadcast_tensor(e.value(), shape), [](float v) { return v == 0.0f ? 0.0f : 1.0f; }));
    grads[0] = sum_to(g * e * pow(b, e - 1.0f) * e_nonzero, b.shape());
  }
  if (ctx.needs(1)) {
    const Variable out = ctx.output();
    Variable out_nonzero = constant(map(out.value(), [](float v) { return v == 0.0f ? 0.0f : 1.0f; }));
    grads[1] = sum_to(g * out * log(b) * out_nonzero, e.shape());
  }
  return grads;
}

}  // namespace

namespace {


std::vector<Variable> add_relu_graph(const Variable& g, const GraphCtx& ctx) {
  Variable gm = g * relu_mask(ctx.output().value());
  return {ctx.needs(0) ? gm : Variable(), ctx.needs(1) ? gm : Variable()};
}

// add_relu's rule: the gradient masked by the output, the same for both inputs. When both
// need it, one parallel pass writes the mask into g and its duplicate: a copy after the mask
// ran on one thread while the other core waited (2% of a ResNet step on 2 cores).
TensorList add_relu_backward(Tensor g, const BackwardCtx& ctx) {
  if (!(ctx.needs(0) && ctx.needs(1))) {
    kernels::update(g, ctx.output(), kernels::relu_grad);
    return ctx.needs(1) ? grad_list(Tensor(), std::move(g)) : grad_list(std::move(g), Tensor());
  }
  Tensor ga = empty_tensor(g.shape());
  float* gs = g.data();
  float* as = ga.data();
  const float* out = ctx.output().data();
  kernels::for_range(g.size(), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) as[i] = gs[i] = kernels::relu_grad(gs[i], out[i]);
  });
  return grad_list(std::move(ga), std::move(g));
}

// relu(a + b) on a same-shape addition nobody else has seen: becomes add_relu in place.
void absorb_relu_into_add(Node& node) {
  kernels::apply(node.value, kernels::relu_value);
  node.backward = add_relu_backward;
  node.graph_backward = add_relu_graph;
  node.op = "add_relu";
}

}  // namespace

Variable add(const Variable& a, const Variable& b) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "add");
  Variable y = record_op("add", broadcast_zip(a.value(), b.value(), shape, std::plus<>()), {a, b},
                         [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                           Tensor ga = ctx.needs(0) ? sum_to(g, ctx.input(0).shape()) : Tensor();
                           Tensor gb = ctx.needs(1) ? sum_to(std::move(g), ctx.input(1).shape()) : Tensor();
                           return grad_list(std::move(ga), std::move(gb));
                         });
  with_double_backward(y, [](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
    return {ctx.needs(0) ? sum_to(g, ctx.input(0).shape()) : Variable(),
            ctx.needs(1) ? sum_to(g, ctx.input(1).shape()) : Variable()};
  });
  if (a.shape() == b.shape()) y.node()->absorb_relu = absorb_relu_into_add;
  return y;
}

Variable add_relu(const Variable& a, const Variable& b) {
  TG_CHECK(a.defined() && b.defined() && a.shape() == b.shape(),
           "add_relu: expected two inputs of the same shape, got ",
           a.defined() ? shape_str(a.shape()) : "undefined", " and ",
           b.defined() ? shape_str(b.shape()) : "undefined");
  return with_double_backward(
      record_op("add_relu",
                zip(a.value(), b.value(), [](float x, float y) { return kernels::relu_value(x + y); }),
                {a, b}, add_relu_backward),
      add_relu_graph);
}

Variable sub(const Variable& a, const Variable& b) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "sub");
  return with_double_backward(record_op("sub", broadcast_zip(a.value(), b.value(), shape, std::minus<>()), {a, b},
                   [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     Tensor ga = ctx.needs(0) ? sum_to(g, ctx.input(0).shape()) : Tensor();
                     Tensor gb;
                     if (ctx.needs(1)) {
                       gb = sum_to(std::move(g), ctx.input(1).shape());
                       kernels::apply(gb, [](float v) { return -v; });
                     }
                     return grad_list(std::move(ga), std::move(gb));
                   }),
                             sub_graph);
}

Variable mul(const Variable& a, const Variable& b) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "mul");
  return with_double_backward(record_op("mul", broadcast_zip(a.value(), b.value(), shape, std::multiplies<>()), {a, b},
                   [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     const Tensor &x = ctx.input(0), &y = ctx.input(1);
                     TensorList grads(2);
                     if (ctx.needs(0))
                       grads[0] = sum_to(broadcast_zip(g, y, g.shape(), std::multiplies<>()), x.shape());
                     if (ctx.needs(1))
                       grads[1] = sum_to(broadcast_zip(g, x, g.shape(), std::multiplies<>()), y.shape());
                     return grads;
                   }),
                             mul_graph);
}

Variable div(const Variable& a, const Variable& b) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "div");
  return with_double_backward(record_op("div", broadcast_zip(a.value(), b.value(), shape, std::divides<>()), {a, b},
                   [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     const Tensor &x = ctx.input(0), &y = ctx.input(1);
                     TensorList grads(2);
                     if (ctx.needs(0))
                       grads[0] = sum_to(broadcast_zip(g, y, g.shape(), std::divides<>()), x.shape());
                     if (ctx.needs(1)) {
                       // d(x/y)/dy = -(x/y) / y = -out / y
                       Tensor go = zip(g, ctx.output(), std::multiplies<>());
                       Tensor gy = broadcast_zip(go, y, g.shape(), [](float v, float d) { return -v / d; });
                       grads[1] = sum_to(std::move(gy), y.shape());
                     }
                     return grads;
                   }),
                             div_graph);
}

Variable pow(const Variable& x, const Variable& y) {
  const Shape shape = broadcast_shapes(x.shape(), y.shape(), "pow");
  auto power = [](float b, float e) { return std::pow(b, e); };
  return with_double_backward(record_op("pow", broadcast_zip(x.value(), y.value(), shape, power), {x, y},
                   [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     const Tensor &b = ctx.input(0), &e = ctx.input(1);
                     const Shape& shape = g.shape();
                     TensorList grads(2);
                     if (ctx.needs(0)) {
                       Tensor d = broadcast_zip(b, e, shape, [](float bv, float ev) {
                         return ev == 0.0f ? 0.0f : ev * std::pow(bv, ev - 1.0f);
                       });
                       grads[0] = sum_to(zip(g, d, std::multiplies<>()), b.shape());
                     }
                     if (ctx.needs(1)) {
                       Tensor lb = broadcast_zip(b, ctx.output(), shape, [](float bv, float) {
                         return std::log(bv);
                       });
                       Tensor d = zip3(g, ctx.output(), lb, [](float gv, float o, float l) {
                         return o == 0.0f ? 0.0f : gv * o * l;
                       });
                       grads[1] = sum_to(std::move(d), e.shape());
                     }
                     return grads;
                   }),
                             pow_graph);
}

// ---- ops with a constant ----

Variable add(const Variable& a, float s) {
  if (trace::active()) trace::attributes("add_scalar", {{"value", s}});
  return with_double_backward(record_op("add_scalar", map(a.value(), [s](float v) { return v + s; }), {a},
                   [](Tensor g, const BackwardCtx&) -> TensorList { return grad_list(std::move(g)); }),
                             [](const Variable& g, const GraphCtx&) -> std::vector<Variable> { return {g}; });
}

Variable mul(const Variable& a, float s) {
  if (trace::active()) trace::attributes("mul_scalar", {{"value", s}});
  return with_double_backward(record_op("mul_scalar", map(a.value(), [s](float v) { return v * s; }), {a},
                   [s](Tensor g, const BackwardCtx&) -> TensorList {
                     kernels::apply(g, [s](float v) { return v * s; });
                     return grad_list(std::move(g));
                   }),
                             [s](const Variable& g, const GraphCtx&) -> std::vector<Variable> { return {g * s}; });
}

Variable neg(const Variable& a) { return mul(a, -1.0f); }

Variable rdiv(float s, const Variable& a) {
  if (trace::active()) trace::attributes("rdiv", {{"value", s}});
  return with_double_backward(record_op("rdiv", map(a.value(), [s](float v) { return s / v; }), {a},
                   [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     // d(s/x)/dx = -s/x^2 = -out/x
                     kernels::update(g, ctx.output(), ctx.input(0),
                                     [](float gv, float o, float x) { return -gv * o / x; });
                     return grad_list(std::move(g));
                   }),
                             [](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
                               return {neg(g * ctx.output() / ctx.input(0))};
                             });
}

// ---- unary math ----

namespace {
// A unary op whose derivative is a function of (input, output): df on floats for the first
// order, graph_df(x, out) on Variables for gradients that are differentiated again.
template <class Forward, class Derivative, class GraphDerivative>
Variable unary(const char* op, const Variable& x, Forward f, Derivative df, GraphDerivative graph_df) {
  return with_double_backward(
      record_op(op, map(x.value(), f), {x},
                [df](Tensor g, const BackwardCtx& ctx) -> TensorList {
                  kernels::update(g, ctx.input(0), ctx.output(),
                                  [df](float gv, float in, float out) { return gv * df(in, out); });
                  return grad_list(std::move(g));
                }),
      [graph_df](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
        return {g * graph_df(ctx.input(0), ctx.output())};
      });
}

// A derivative that is a constant of x (a sign, a mask): its own derivative is 0 where it is
// defined, so the gradient graph gets it as a constant.
template <class Derivative>
auto constant_derivative(Derivative df) {
  return [df](const Variable& x, const Variable&) {
    return Variable(map(x.value(), [df](float v) { return df(v, 0.0f); }));
  };
}
}  // namespace

Variable exp(const Variable& x) {
  return unary("exp", x, [](float v) { return std::exp(v); }, [](float, float o) { return o; },
               [](const Variable&, const Variable& out) { return out; });
}

Variable log(const Variable& x) {
  return unary("log", x, [](float v) { return std::log(v); }, [](float in, float) { return 1.0f / in; },
               [](const Variable& in, const Variable&) { return 1.0f / in; });
}

Variable pow(const Variable& x, float p) {
  if (trace::active()) trace::attributes("pow", {{"exponent", p}});
  if (p == 2.0f)
    return unary("pow", x, [](float v) { return v * v; }, [](float in, float) { return 2.0f * in; },
                 [](const Variable& in, const Variable&) { return in * 2.0f; });
  return unary("pow", x, [p](float v) { return std::pow(v, p); },
               [p](float in, float) { return p == 0.0f ? 0.0f : p * std::pow(in, p - 1.0f); },
               [p](const Variable& in, const Variable&) {
                 return p == 0.0f ? Variable(filled(in.shape(), 0.0f)) : pow(in, p - 1.0f) * p;
               });
}

Variable sqrt(const Variable& x) {
  return unary("sqrt", x, [](float v) { return std::sqrt(v); },
               [](float, float o) { return 0.5f / o; },
               [](const Variable&, const Variable& out) { return 0.5f / out; });
}

Variable abs(const Variable& x) {
  auto sign = [](float in, float) { return in > 0.0f ? 1.0f : (in < 0.0f ? -1.0f : 0.0f); };
  return unary("abs", x, [](float v) { return std::fabs(v); }, sign, constant_derivative(sign));
}

Variable clamp(const Variable& x, float lo, float hi) {
  TG_CHECK(!(lo > hi), "clamp: expected min <= max, got min = ", lo, ", max = ", hi);
  if (trace::active()) trace::attributes("clamp", {{"min", lo}, {"max", hi}});
  auto inside = [lo, hi](float in, float) { return in >= lo && in <= hi ? 1.0f : 0.0f; };
  return unary("clamp", x, [lo, hi](float v) { return std::min(std::max(v, lo), hi); }, inside,
               constant_derivative(inside));
}

Variable relu(Variable x) {
  TG_CHECK(x.defined(), "relu: expected a defined input, got an undefined one");
  Node& node = *x.node();
  // Only this call holds the node: no consumer saw its value, so it may change in place.
  if (x.node().use_count() == 1) {
    if (!node.requires_grad) {
      kernels::apply(node.value, kernels::relu_value);
      return x;
    }
    if (node.absorb_relu != nullptr && grad_enabled()) {
      std::exchange(node.absorb_relu, nullptr)(node);
      return x;
    }
  }
  // The mask needs only the output: the backward reads two tensors, not three.
  return with_double_backward(
      record_op("relu", map(x.value(), kernels::relu_value), {x},
                [](GradOutput g, const BackwardCtx& ctx) -> TensorList {
                  if (!g.owned()) return grad_list(kernels::zip(g.get(), ctx.output(), kernels::relu_grad));
                  Tensor gx = std::move(g).take();
                  kernels::update(gx, ctx.output(), kernels::relu_grad);
                  return grad_list(std::move(gx));
                }),
      [](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
        return {g * relu_mask(ctx.output().value())};
      });
}

Variable leaky_relu(const Variable& x, float negative_slope) {
  if (trace::active()) trace::attributes("leaky_relu", {{"negative_slope", negative_slope}});
  auto slope = [negative_slope](float in, float) { return in > 0.0f ? 1.0f : negative_slope; };
  return unary("leaky_relu", x, [negative_slope](float v) { return v > 0.0f ? v : v * negative_slope; },
               slope, constant_derivative(slope));
}

Variable sigmoid(const Variable& x) {
  // Both branches keep exp's argument <= 0, so no overflow for large |x|.
  return unary("sigmoid", x,
               [](float v) {
                 if (v >= 0.0f) return 1.0f / (1.0f + std::exp(-v));
                 const float e = std::exp(v);
                 return e / (1.0f + e);
               },
               [](float, float o) { return o * (1.0f - o); },
               [](const Variable&, const Variable& out) { return out * (1.0f - out); });
}

Variable tanh(const Variable& x) {
  return unary("tanh", x, [](float v) { return std::tanh(v); },
               [](float, float o) { return 1.0f - o * o; },
               [](const Variable&, const Variable& out) { return 1.0f - out * out; });
}

// ---- operators ----

Variable operator+(const Variable& a, const Variable& b) { return add(a, b); }
Variable operator-(const Variable& a, const Variable& b) { return sub(a, b); }
Variable operator*(const Variable& a, const Variable& b) { return mul(a, b); }
Variable operator/(const Variable& a, const Variable& b) { return div(a, b); }
Variable operator+(const Variable& a, float s) { return add(a, s); }
Variable operator+(float s, const Variable& a) { return add(a, s); }
Variable operator-(const Variable& a, float s) { return add(a, -s); }
Variable operator-(float s, const Variable& a) { return add(neg(a), s); }
Variable operator*(const Variable& a, float s) { return mul(a, s); }
Variable operator*(float s, const Variable& a) { return mul(a, s); }
Variable operator/(const Variable& a, float s) { return mul(a, 1.0f / s); }
Variable operator/(float s, const Variable& a) { return rdiv(s, a); }
Variable operator-(const Variable& a) { return neg(a); }

}  // namespace tg
