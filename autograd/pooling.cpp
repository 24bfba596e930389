#include "tapegrad/autograd/pooling.hpp"

#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/trace.hpp"
#include "tapegrad/autograd/kernels/pool2d.hpp"

namespace tg {

namespace {


void check_input(const char* op, const Shape& xs) {
  TG_CHECK(xs.size() == 3 || xs.size() == 4, op, ": expected input [N, C, H, W] or [C, H, W], got ",
           shape_str(xs));
  TG_CHECK(xs[xs.size() - 1] >= 1 && xs[xs.size() - 2] >= 1, op,
           ": expected an input of at least 1x1, got ", shape_str(xs));
}

void check_options(const char* op, const Pool2dOptions& o) {
  TG_CHECK(o.kernel_h >= 1 && o.kernel_w >= 1, op, ": expected kernel size >= 1, got ",
           o.kernel_h, "x", o.kernel_w);
  TG_CHECK(o.stride_h >= 0 && o.stride_w >= 0, op,
           ": expected stride >= 1 (or 0 for the kernel size), got ", o.stride_h, "x", o.stride_w);
  TG_CHECK(o.padding_h >= 0 && o.padding_w >= 0, op, ": expected padding >= 0, got ",
           o.padding_h, "x", o.padding_w);
  TG_CHECK(o.padding_h <= o.kernel_h / 2 && o.padding_w <= o.kernel_w / 2, op,
           ": expected padding at most half the kernel size, got padding ", o.padding_h, "x",
           o.padding_w, " with kernel ", o.kernel_h, "x", o.kernel_w);
}

kernels::PoolGeometry make_geometry(const char* op, const Shape& xs, const Pool2dOptions& o) {
  check_input(op, xs);
  check_options(op, o);
  kernels::PoolGeometry g;
  const std::size_t d = xs.size();
  g.planes = static_cast<std::int64_t>(numel_of(xs) / (xs[d - 2] * xs[d - 1]));
  g.height = static_cast<std::int64_t>(xs[d - 2]);
  g.width = static_cast<std::int64_t>(xs[d - 1]);
  g.kernel_h = o.kernel_h;
  g.kernel_w = o.kernel_w;
  g.stride_h = o.stride_h == 0 ? o.kernel_h : o.stride_h;
  g.stride_w = o.stride_w == 0 ? o.kernel_w : o.stride_w;
  g.pad_h = o.padding_h;
  g.pad_w = o.padding_w;
  g.out_h = kernels::pool_output_size(g.height, g.kernel_h, g.stride_h, g.pad_h, o.ceil_mode);
  g.out_w = kernels::pool_output_size(g.width, g.kernel_w, g.stride_w, g.pad_w, o.ceil_mode);
  TG_CHECK(g.out_h >= 1 && g.out_w >= 1, op, ": expected the kernel ", g.kernel_h, "x",
           g.kernel_w, " to fit in the padded input, got input ", shape_str(xs),
           " (output size ", g.out_h, "x", g.out_w, ")");
  TG_CHECK(g.in_plane() <= std::numeric_limits<std::int32_t>::max(), op,
           ": expected planes of fewer than 2^31 elements, got ", shape_str(xs));
  return g;
}

Shape output_shape(const Shape& xs, std::int64_t h, std::int64_t w) {
  Shape out = xs;
  out[out.size() - 2] = static_cast<std::size_t>(h);
  out[out.size() - 1] = static_cast<std::size_t>(w);
  return out;
}

Pool2dOptions square(std::int64_t kernel, std::int64_t stride, std::int64_t padding,
                     bool ceil_mode, bool count_include_pad = true) {
  return {.kernel_h = kernel, .kernel_w = kernel, .stride_h = stride, .stride_w = stride,
          .padding_h = padding, .padding_w = padding, .ceil_mode = ceil_mode,
          .count_include_pad = count_include_pad};
}

// What an exporter needs to redo the pooling (autograd/trace.hpp).
std::vector<trace::Attr> pool_attributes(const kernels::PoolGeometry& g, const Pool2dOptions& o) {
  return {{"kernel", std::vector<std::int64_t>{g.kernel_h, g.kernel_w}},
          {"strides", std::vector<std::int64_t>{g.stride_h, g.stride_w}},
          {"pads", std::vector<std::int64_t>{g.pad_h, g.pad_w, g.pad_h, g.pad_w}},
          {"ceil_mode", std::int64_t{o.ceil_mode}},
          {"count_include_pad", std::int64_t{o.count_include_pad}}};
}

// A map y = A x that is linear in x, given as A and its transpose: each is the other's
// gradient, so a pooling's gradients of every order come from its two kernels.
using Kernel = std::function<void(const float* in, float* out)>;
struct LinearMap {
  const char* op;
  const char* transpose_op;
  Kernel apply, apply_transpose;
  Shape in_shape, out_shape;
  LinearMap transposed() const { return {transpose_op, op, apply_transpose, apply, out_shape, in_shape}; }
};

Variable apply_linear(const LinearMap& m, const Variable& x) {
  Tensor y = empty_tensor(m.out_shape);
  m.apply(x.value().data(), y.data());
  return with_double_backward(
      record_op(m.op, std::move(y), {x},
                [m](const GradOutput& gy, const BackwardCtx&) -> TensorList {
                  Tensor gx = empty_tensor(m.in_shape);
                  m.apply_transpose(gy.get().data(), gx.data());
                  return grad_list(std::move(gx));
                }),
      [m](const Variable& g, const GraphCtx&) -> std::vector<Variable> {
        return {apply_linear(m.transposed(), g)};
      });
}

// A pooling's gradient as a differentiable op (for create_graph): A^T applied to g.
void set_pool_graph_rule(Variable& y, const char* op, const char* backward_op, Kernel forward,
                         Kernel backward, const Shape& in_shape) {
  const LinearMap m{op, backward_op, std::move(forward), std::move(backward), in_shape, y.shape()};
  with_double_backward(y, [m](const Variable& g, const GraphCtx&) -> std::vector<Variable> {
    return {apply_linear(m.transposed(), g)};
  });
}

Variable extremum_pool(const char* op, const Variable& x, const Pool2dOptions& o, bool minimum) {
  const kernels::PoolGeometry g = make_geometry(op, x.shape(), o);
  Tensor y = empty_tensor(output_shape(x.shape(), g.out_h, g.out_w));
  // The winners' positions are the only state backward needs; skip them when nothing records.
  std::shared_ptr<std::vector<std::int32_t>> index;
  if (grad_enabled() && x.requires_grad())
    index = std::make_shared<std::vector<std::int32_t>>(y.size());
  kernels::extremum_pool2d_forward(x.value().data(), y.data(), index ? index->data() : nullptr, g,
                                   minimum);
  if (trace::active()) trace::attributes(op, pool_attributes(g, o));
  Variable out = record_op(op, std::move(y), {x},
                           [g, index](const GradOutput& gy, const BackwardCtx& ctx) -> TensorList {
                             TG_ASSERT(index, "pooling recorded without its indices");
                             Tensor gx = empty_tensor(ctx.input(0).shape());
                             kernels::extremum_pool2d_backward(gy.get().data(), index->data(), gx.data(), g);
                             return grad_list(std::move(gx));
                           });
  if (index) {
    // The winners as a fixed selection: y = gather(x), its gradient scatter(g).
    auto gather = [g, index](const float* in, float* out) {
      for (std::int64_t p = 0; p < g.planes; ++p)
        for (std::int64_t o = 0; o < g.out_plane(); ++o)
          out[p * g.out_plane() + o] = in[p * g.in_plane() + (*index)[std::size_t(p * g.out_plane() + o)]];
    };
    auto scatter = [g, index](const float* gy, float* gx) {
      kernels::extremum_pool2d_backward(gy, index->data(), gx, g);
    };
    set_pool_graph_rule(out, op, minimum ? "min_pool2d_backward" : "max_pool2d_backward", gather,
                        scatter, x.shape());
  }
  return out;
}

}  // namespace

Variable max_pool2d(const Variable& x, std::int64_t kernel, std::int64_t stride,
                    std::int64_t padding, bool ceil_mode) {
  return max_pool2d(x, square(kernel, stride, padding, ceil_mode));
}

Variable max_pool2d(const Variable& x, const Pool2dOptions& options) {
  return extremum_pool("max_pool2d", x, options, false);
}

Variable min_pool2d(const Variable& x, std::int64_t kernel, std::int64_t stride,
                    std::int64_t padding, bool ceil_mode) {
  return min_pool2d(x, square(kernel, stride, padding, ceil_mode));
}

Variable min_pool2d(const Variable& x, const Pool2dOptions& options) {
  return extremum_pool("min_pool2d", x, options, true);
}

Variable avg_pool2d(const Variable& x, std::int64_t kernel, std::int64_t stride,
                    std::int64_t padding, bool ceil_mode, bool count_include_pad) {
  return avg_pool2d(x, square(kernel, stride, padding, ceil_mode, count_include_pad));
}

Variable avg_pool2d(const Variable& x, const Pool2dOptions& options) {
  const kernels::PoolGeometry g = make_geometry("avg_pool2d", x.shape(), options);
  Tensor y = empty_tensor(output_shape(x.shape(), g.out_h, g.out_w));
  const bool include_pad = options.count_include_pad;
  kernels::avg_pool2d_forward(x.value().data(), y.data(), g, include_pad);
  if (trace::active()) trace::attributes("avg_pool2d", pool_attributes(g, options));
  Variable out = record_op("avg_pool2d", std::move(y), {x},
                           [g, include_pad](const GradOutput& gy, const BackwardCtx& ctx) -> TensorList {
                             Tensor gx = empty_tensor(ctx.input(0).shape());
                             kernels::avg_pool2d_backward(gy.get().data(), gx.data(), g, include_pad);
                             return grad_list(std::move(gx));
                           });
  set_pool_graph_rule(
      out, "avg_pool2d", "avg_pool2d_backward",
      [g, include_pad](const float* in, float* o) { kernels::avg_pool2d_forward(in, o, g, include_pad); },
      [g, include_pad](const float* gy, float* gx) { kernels::avg_pool2d_backward(gy, gx, g, include_pad); },
      x.shape());
  return out;
}

Variable adaptive_avg_pool2d(const Variable& x, std::array<std::int64_t, 2> output_size) {
  check_input("adaptive_avg_pool2d", x.shape());
  TG_CHECK(output_size[0] >= 1 && output_size[1] >= 1,
           "adaptive_avg_pool2d: expected an output size of at least 1x1, got ", output_size[0],
           "x", output_size[1]);
  const Shape& xs = x.shape();
  kernels::PoolGeometry g;
  g.height = static_cast<std::int64_t>(xs[xs.size() - 2]);
  g.width = static_cast<std::int64_t>(xs[xs.size() - 1]);
  g.planes = static_cast<std::int64_t>(numel_of(xs)) / (g.height * g.width);
  g.out_h = output_size[0];
  g.out_w = output_size[1];
  Tensor y = empty_tensor(output_shape(xs, g.out_h, g.out_w));
  kernels::adaptive_avg_pool2d_forward(x.value().data(), y.data(), g);
  if (trace::active()) trace::attributes("adaptive_avg_pool2d", {{"output_size", std::vector<std::int64_t>{g.out_h, g.out_w}}});
  Variable out = record_op("adaptive_avg_pool2d", std::move(y), {x},
                           [g](const GradOutput& gy, const BackwardCtx& ctx) -> TensorList {
                             Tensor gx = empty_tensor(ctx.input(0).shape());
                             kernels::adaptive_avg_pool2d_backward(gy.get().data(), gx.data(), g);
                             return grad_list(std::move(gx));
                           });
  set_pool_graph_rule(
      out, "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward",
      [g](const float* in, float* o) { kernels::adaptive_avg_pool2d_forward(in, o, g); },
      [g](const float* gy, float* gx) { kernels::adaptive_avg_pool2d_backward(gy, gx, g); }, x.shape());
  return out;
}

}  // namespace tg
