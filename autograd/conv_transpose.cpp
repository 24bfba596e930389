#include "tapegrad/autograd/conv_transpose.hpp"

#include <string>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/kernels/conv2d.hpp"

namespace tg {

namespace {

std::int64_t pick(std::int64_t axis_value, std::int64_t square, std::int64_t unset) {
  return axis_value == unset ? square : axis_value;
}

struct Axis {
  std::int64_t stride, pad, out_pad, dilation;
};

// The transposed convolution of x is the input gradient of the conv2d whose input has the
// transposed output's shape and whose output has x's shape, with the same weight (the conv's
// [Cout, Cin/groups] is our [Cin, Cout/groups]). `g` describes that conv2d: the kernels'
// backward runs our forward, their forward our input gradient.
kernels::ConvGeometry adjoint_geometry(const Shape& xs, const Shape& ws,
                                       const ConvTranspose2dFuncOptions& o) {
  const Axis ah{pick(o.stride_h, o.stride, 0), pick(o.padding_h, o.padding, -1),
                pick(o.output_padding_h, o.output_padding, -1), pick(o.dilation_h, o.dilation, 0)};
  const Axis aw{pick(o.stride_w, o.stride, 0), pick(o.padding_w, o.padding, -1),
                pick(o.output_padding_w, o.output_padding, -1), pick(o.dilation_w, o.dilation, 0)};
  for (const Axis& a : {ah, aw}) {
    TG_CHECK(a.stride >= 1, "conv_transpose2d: expected stride >= 1, got ", a.stride);
    TG_CHECK(a.dilation >= 1, "conv_transpose2d: expected dilation >= 1, got ", a.dilation);
    TG_CHECK(a.pad >= 0, "conv_transpose2d: expected padding >= 0, got ", a.pad);
    // PyTorch also accepts output_padding < dilation; only the stride bound is supported here.
    TG_CHECK(a.out_pad >= 0 && a.out_pad < a.stride,
             "conv_transpose2d: expected 0 <= output_padding < stride, got output_padding ",
             a.out_pad, " with stride ", a.stride);
  }
  TG_CHECK(o.groups >= 1, "conv_transpose2d: expected groups >= 1, got ", o.groups);
  TG_CHECK(xs.size() == 4, "conv_transpose2d: expected input [N, C, H, W] (4-D), got ",
           shape_str(xs),
           xs.size() == 3 ? "; for one image [C, H, W] add the batch dimension: "
                            "x.view({1, C, H, W})" : "");
  TG_CHECK(ws.size() == 4 && ws[0] >= 1 && ws[1] >= 1 && ws[2] >= 1 && ws[3] >= 1,
           "conv_transpose2d: expected weight [Cin, Cout/groups, kH, kW] with every size >= 1, "
           "got ", shape_str(ws));
  const auto cin = static_cast<std::int64_t>(ws[0]);
  TG_CHECK(static_cast<std::int64_t>(xs[1]) == cin,
           "conv_transpose2d: expected input [N, C, H, W] with C = ", cin, " (weight ",
           shape_str(ws), " is [Cin, Cout/groups, kH, kW]), got ", shape_str(xs));
  TG_CHECK(cin % o.groups == 0, "conv_transpose2d: expected groups = ", o.groups,
           " to divide the input channels, got weight ", shape_str(ws));
  kernels::ConvGeometry g;
  g.batch = static_cast<std::int64_t>(xs[0]);
  g.out_channels = cin;
  g.in_channels = static_cast<std::int64_t>(ws[1]) * o.groups;
  g.kernel_h = static_cast<std::int64_t>(ws[2]);
  g.kernel_w = static_cast<std::int64_t>(ws[3]);
  g.groups = o.groups;
  g.stride_h = ah.stride, g.stride_w = aw.stride;
  g.pad_h = ah.pad, g.pad_w = aw.pad;
  g.dilation_h = ah.dilation, g.dilation_w = aw.dilation;
  const auto h = static_cast<std::int64_t>(xs[2]), w = static_cast<std::int64_t>(xs[3]);
  g.height = (h - 1) * ah.stride - 2 * ah.pad + ah.dilation * (g.kernel_h - 1) + ah.out_pad + 1;
  g.width = (w - 1) * aw.stride - 2 * aw.pad + aw.dilation * (g.kernel_w - 1) + aw.out_pad + 1;
  TG_CHECK(h >= 1 && w >= 1 && g.height >= 1 && g.width >= 1,
           "conv_transpose2d: expected an output of at least 1x1, got ", g.height, "x", g.width,
           " from input ", shape_str(xs), " and weight ", shape_str(ws),
           "; reduce padding or enlarge the input");
  g.compute_output_size();  // gives back H x W, since output_padding < stride
  return g;
}

}  // namespace

Variable conv_transpose2d(const Variable& x, const Variable& weight, const Variable& bias,
                          ConvTranspose2dFuncOptions options) {
  TG_CHECK(x.defined() && weight.defined(),
           "conv_transpose2d: expected a defined input and weight, got ",
           x.defined() ? "an undefined weight" : "an undefined input");
  const kernels::ConvGeometry g = adjoint_geometry(x.shape(), weight.shape(), options);
  const std::int64_t cout = g.in_channels, plane = g.in_plane();
  if (bias.defined())
    TG_CHECK(bias.dim() == 1 && static_cast<std::int64_t>(bias.numel()) == cout,
             "conv_transpose2d: expected bias [", cout, "], got ", shape_str(bias.shape()));
  Tensor y = empty({static_cast<std::size_t>(g.batch), static_cast<std::size_t>(cout),
                    static_cast<std::size_t>(g.height), static_cast<std::size_t>(g.width)});
  kernels::conv2d_backward(x.value().data(), nullptr, weight.value().data(), y.data(), nullptr,
                           nullptr, g);
  if (bias.defined()) {
    const float* b = bias.value().data();
    float* out = y.data();
    for (std::int64_t n = 0; n < g.batch; ++n)
      for (std::int64_t c = 0; c < cout; ++c) {
        float* row = out + (n * cout + c) * plane;
        for (std::int64_t i = 0; i < plane; ++i) row[i] += b[c];
      }
  }
  return record_op(
      "conv_transpose2d", std::move(y), {x, weight, bias},
      [g](const GradOutput& gy, const BackwardCtx& ctx) -> TensorList {
        const bool has_bias = ctx.num_inputs() > 2;
        const float* gout = gy.get().data();
        Tensor gx, gw, gb;
        if (ctx.needs(0)) {
          gx = empty(ctx.input(0).shape());
          kernels::conv2d_forward(gout, ctx.input(1).data(), nullptr, gx.data(), g);
        }
        const bool want_w = ctx.needs(1), want_b = has_bias && ctx.needs(2);
        if (want_w || want_b) {
          // The conv's weight gradient with its input = our output gradient and its output
          // gradient = our input; its bias gradient would sum over x, so ours is summed here.
          if (want_w) gw = empty(ctx.input(1).shape());
          if (want_w)
            kernels::conv2d_backward(ctx.input(0).data(), gout, nullptr, nullptr, gw.data(),
                                     nullptr, g);
          if (want_b) {
            gb = filled(ctx.input(2).shape(), 0.0f);
            const std::int64_t cout = g.in_channels, plane = g.in_plane();
            float* b = gb.data();
            for (std::int64_t n = 0; n < g.batch; ++n)
              for (std::int64_t c = 0; c < cout; ++c) {
                const float* row = gout + (n * cout + c) * plane;
                double s = 0;
                for (std::int64_t i = 0; i < plane; ++i) s += row[i];
                b[c] += static_cast<float>(s);
              }
          }
        }
        return has_bias ? grad_list(std::move(gx), std::move(gw), std::move(gb))
                        : grad_list(std::move(gx), std::move(gw));
      });
}

}  // namespace tg
