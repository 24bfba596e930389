#include "tapegrad/autograd/conv.hpp"

#include <string>

#include "tapegrad/autograd/autocast.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/reduce.hpp"
#include "tapegrad/autograd/trace.hpp"
#include "tapegrad/autograd/kernels/conv2d.hpp"

namespace tg {

namespace {


// A per-axis override wins when set; an unset override (0, or -1 for padding) takes the square value.
std::int64_t pick(std::int64_t axis_value, std::int64_t square, std::int64_t unset) {
  return axis_value == unset ? square : axis_value;
}

void check_options(const Conv2dOptions& o) {
  TG_CHECK(o.stride >= 1 && o.stride_h >= 0 && o.stride_w >= 0,
           "conv2d: expected stride >= 1, got stride ", o.stride, " (stride_h ", o.stride_h,
           ", stride_w ", o.stride_w, ")");
  TG_CHECK(o.dilation >= 1 && o.dilation_h >= 0 && o.dilation_w >= 0,
           "conv2d: expected dilation >= 1, got dilation ", o.dilation, " (dilation_h ",
           o.dilation_h, ", dilation_w ", o.dilation_w, ")");
  TG_CHECK(o.padding >= 0 && o.padding_h >= -1 && o.padding_w >= -1,
           "conv2d: expected padding >= 0, got padding ", o.padding, " (padding_h ", o.padding_h,
           ", padding_w ", o.padding_w, ")");
  TG_CHECK(o.groups >= 1, "conv2d: expected groups >= 1, got ", o.groups);
}

void check_shapes(const Shape& xs, const Shape& ws, const Variable& bias, std::int64_t groups) {
  TG_CHECK(xs.size() == 4, "conv2d: expected input [N, C, H, W] (4-D), got ", shape_str(xs),
           xs.size() == 3 ? "; for one image [C, H, W] add the batch dimension: "
                            "x.view({1, C, H, W})" : "");
  TG_CHECK(ws.size() == 4 && ws[0] >= 1 && ws[1] >= 1 && ws[2] >= 1 && ws[3] >= 1,
           "conv2d: expected weight [Cout, Cin/groups, kH, kW] with every size >= 1, got ",
           shape_str(ws));
  const auto cout = static_cast<std::int64_t>(ws[0]);
  TG_CHECK(cout % groups == 0, "conv2d: expected groups = ", groups,
           " to divide the output channels, got weight ", shape_str(ws));
  TG_CHECK(static_cast<std::int64_t>(xs[1]) % groups == 0, "conv2d: expected groups = ", groups,
           " to divide the input channels, got input ", shape_str(xs));
  const auto cin = static_cast<std::int64_t>(ws[1]) * groups;
  const std::string grouped = groups > 1 ? ", groups " + std::to_string(groups) : "";
  TG_CHECK(static_cast<std::int64_t>(xs[1]) == cin, "conv2d: expected input [N, C, H, W] with C = ",
           cin, " (weight ", shape_str(ws), grouped, "), got ", shape_str(xs));
  if (bias.defined())
    TG_CHECK(bias.dim() == 1 && static_cast<std::int64_t>(bias.numel()) == cout,
             "conv2d: expected bias [", cout, "], got ", shape_str(bias.shape()));
}

kernels::ConvGeometry make_geometry(const Shape& xs, const Shape& ws, const Conv2dOptions& o) {
  kernels::ConvGeometry g;
  g.batch = static_cast<std::int64_t>(xs[0]);
  g.in_channels = static_cast<std::int64_t>(xs[1]);
  g.height = static_cast<std::int64_t>(xs[2]);
  g.width = static_cast<std::int64_t>(xs[3]);
  g.out_channels = static_cast<std::int64_t>(ws[0]);
  g.kernel_h = static_cast<std::int64_t>(ws[2]);
  g.kernel_w = static_cast<std::int64_t>(ws[3]);
  g.groups = o.groups;
  g.stride_h = pick(o.stride_h, o.stride, 0);
  g.stride_w = pick(o.stride_w, o.stride, 0);
  g.pad_h = pick(o.padding_h, o.padding, -1);
  g.pad_w = pick(o.padding_w, o.padding, -1);
  g.dilation_h = pick(o.dilation_h, o.dilation, 0);
  g.dilation_w = pick(o.dilation_w, o.dilation, 0);
  const std::int64_t span_h = g.dilation_h * (g.kernel_h - 1) + 1;
  const std::int64_t span_w = g.dilation_w * (g.kernel_w - 1) + 1;
  const std::int64_t padded_h = g.height + 2 * g.pad_h, padded_w = g.width + 2 * g.pad_w;
  TG_CHECK(span_h <= padded_h && span_w <= padded_w, "conv2d: expected the kernel (",
           span_h, "x", span_w, " after dilation) to fit in the padded input (", padded_h, "x",
           padded_w, "), got input ", shape_str(xs), " and weight ", shape_str(ws));
  g.compute_output_size();
  return g;
}

Shape output_shape(const kernels::ConvGeometry& g) {
  return {static_cast<std::size_t>(g.batch), static_cast<std::size_t>(g.out_channels),
          static_cast<std::size_t>(g.out_h), static_cast<std::size_t>(g.out_w)};
}

Conv2dOptions options_of(const kernels::ConvGeometry& g) {
  Conv2dOptions o;
  o.groups = g.groups;
  o.stride_h = g.stride_h;
  o.stride_w = g.stride_w;
  o.padding_h = g.pad_h;
  o.padding_w = g.pad_w;
  o.dilation_h = g.dilation_h;
  o.dilation_w = g.dilation_w;
  return o;
}

Shape input_shape(const kernels::ConvGeometry& g) {
  return {std::size_t(g.batch), std::size_t(g.in_channels), std::size_t(g.height), std::size_t(g.width)};
}

Variable conv2d_weight_grad(const Variable& gy, const Variable& x, const Shape& w_shape,
                            const kernels::ConvGeometry& g);

// conv2d's input gradient as an op of (gy, w), so that it can be differentiated again: it is
// linear in each, its gradients are a convolution (for gy) and a weight gradient (for w).
Variable conv2d_input_grad(const Variable& gy, const Variable& w, const kernels::ConvGeometry& g) {
  Tensor gx = empty_tensor(input_shape(g));
  kernels::conv2d_backward(gy.value().data(), nullptr, w.value().data(), gx.data(), nullptr, nullptr, g);
  return with_double_backward(
      record_op("conv2d_backward_input", std::move(gx), {gy, w},
                [g](const GradOutput& ggx, const BackwardCtx& ctx) -> TensorList {
                  Tensor d_gy = ctx.needs(0) ? empty_tensor(output_shape(g)) : Tensor();
                  if (ctx.needs(0))
                    kernels::conv2d_forward(ggx.get().data(), ctx.input(1).data(), nullptr, d_gy.data(), g);
                  Tensor d_w = ctx.needs(1) ? empty_tensor(ctx.input(1).shape()) : Tensor();
                  if (ctx.needs(1))
                    kernels::conv2d_backward(ctx.input(0).data(), ggx.get().data(), nullptr, nullptr,
                                             d_w.data(), nullptr, g);
                  return grad_list(std::move(d_gy), std::move(d_w));
                }),
      [g](const Variable& ggx, const GraphCtx& ctx) -> std::vector<Variable> {
        return {ctx.needs(0) ? conv2d(ggx, ctx.input(1), Variable(), options_of(g)) : Variable(),
                ctx.needs(1) ? conv2d_weight_grad(ctx.input(0), ggx, ctx.input(1).shape(), g) : Variable()};
      });
}

// conv2d's weight gradient as an op of (gy, x), likewise.
Variable conv2d_weight_grad(const Variable& gy, const Variable& x, const Shape& w_shape,
                            const kernels::ConvGeometry& g) {
  Tensor gw = empty_tensor(w_shape);
  kernels::conv2d_backward(gy.value().data(), x.value().data(), nullptr, nullptr, gw.data(), nullptr, g);
  return with_double_backward(
      record_op("conv2d_backward_weight", std::move(gw), {gy, x},
                [g](const GradOutput& ggw, const BackwardCtx& ctx) -> TensorList {
                  Tensor d_gy = ctx.needs(0) ? empty_tensor(output_shape(g)) : Tensor();
                  if (ctx.needs(0))
                    kernels::conv2d_forward(ctx.input(1).data(), ggw.get().data(), nullptr, d_gy.data(), g);
                  Tensor d_x = ctx.needs(1) ? empty_tensor(ctx.input(1).shape()) : Tensor();
                  if (ctx.needs(1))
                    kernels::conv2d_backward(ctx.input(0).data(), nullptr, ggw.get().data(), d_x.data(),
                                             nullptr, nullptr, g);
                  return grad_list(std::move(d_gy), std::move(d_x));
                }),
      [g](const Variable& ggw, const GraphCtx& ctx) -> std::vector<Variable> {
        return {ctx.needs(0) ? conv2d(ctx.input(1), ggw, Variable(), options_of(g)) : Variable(),
                ctx.needs(1) ? conv2d_input_grad(ctx.input(0), ggw, g) : Variable()};
      });
}

}  // namespace

Variable conv2d(const Variable& x, const Variable& weight, const Variable& bias,
                Conv2dOptions options) {
  TG_CHECK(x.defined() && weight.defined(), "conv2d: expected a defined input and weight, got ",
           x.defined() ? "an undefined weight" : "an undefined input");
  check_options(options);
  check_shapes(x.shape(), weight.shape(), bias, options.groups);
  const kernels::ConvGeometry g = make_geometry(x.shape(), weight.shape(), options);
  Tensor y = empty_tensor(output_shape(g));
  const bool bf16 = autocast::bf16_active();  // the backward multiplies as the forward did
  kernels::conv2d_forward(x.value().data(), weight.value().data(),
                          bias.defined() ? bias.value().data() : nullptr, y.data(), g, bf16);
  if (trace::active()) trace::attributes("conv2d", {{"strides", std::vector<std::int64_t>{g.stride_h, g.stride_w}},
                                                  {"pads", std::vector<std::int64_t>{g.pad_h, g.pad_w, g.pad_h, g.pad_w}},
                                                  {"dilations", std::vector<std::int64_t>{g.dilation_h, g.dilation_w}},
                                                  {"groups", g.groups}});
  Variable out = record_op("conv2d", std::move(y), {x, weight, bias},
                   [g, bf16](const GradOutput& gy, const BackwardCtx& ctx) -> TensorList {
                     const bool has_bias = ctx.num_inputs() > 2;
                     Tensor gx = ctx.needs(0) ? empty_tensor(ctx.input(0).shape()) : Tensor();
                     Tensor gw = ctx.needs(1) ? empty_tensor(ctx.input(1).shape()) : Tensor();
                     Tensor gb = has_bias && ctx.needs(2) ? empty_tensor(ctx.input(2).shape()) : Tensor();
                     kernels::conv2d_backward(gy.get().data(), ctx.input(0).data(), ctx.input(1).data(),
                                              ctx.needs(0) ? gx.data() : nullptr,
                                              ctx.needs(1) ? gw.data() : nullptr,
                                              has_bias && ctx.needs(2) ? gb.data() : nullptr, g, bf16);
                     return has_bias ? grad_list(std::move(gx), std::move(gw), std::move(gb))
                                     : grad_list(std::move(gx), std::move(gw));
                   });
  return with_double_backward(out, [g](const Variable& gy, const GraphCtx& ctx) -> std::vector<Variable> {
    std::vector<Variable> grads(ctx.num_inputs());
    if (ctx.needs(0)) grads[0] = conv2d_input_grad(gy, ctx.input(1), g);
    if (ctx.needs(1)) grads[1] = conv2d_weight_grad(gy, ctx.input(0), ctx.input(1).shape(), g);
    if (grads.size() > 2 && ctx.needs(2)) grads[2] = sum(sum(sum(gy, 3), 2), 0);
    return grads;
  });
}

}  // namespace tg
