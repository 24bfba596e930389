#include "tapegrad/autograd/conv_transpose.hpp"

#include <string>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/kernels/conv2d.hpp"
#include "tapegrad/autograd/kernels/gemm.hpp"

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
//
// That conv2d maps its input size back to x's only when output_padding < stride. PyTorch also
// allows output_padding < dilation; then (`cropped`) the kernels work on the uncropped output
// (padding 0, no output_padding) and the result is its window from (pad_h, pad_w), with the
// rows and columns past its end 0: a copy in each direction, for this rare case only.
//
// A 1x1 input without padding, dilation or groups (a generator's first layer: noise [N, nz, 1,
// 1] -> [N, C, k, k]) is one product, y [N, Cout*kH*kW] = x [N, Cin] @ w [Cin, Cout*kH*kW]
// (`pointwise`): the conv route would multiply a mostly zero-padded k x k patch per image.
struct Plan {
  kernels::ConvGeometry g;
  bool cropped = false;
  bool pointwise = false;
  std::int64_t out_h = 0, out_w = 0, pad_h = 0, pad_w = 0;  // the result and its window
};

Plan make_plan(const Shape& xs, const Shape& ws, const ConvTranspose2dFuncOptions& o) {
  const Axis ah{pick(o.stride_h, o.stride, 0), pick(o.padding_h, o.padding, -1),
                pick(o.output_padding_h, o.output_padding, -1), pick(o.dilation_h, o.dilation, 0)};
  const Axis aw{pick(o.stride_w, o.stride, 0), pick(o.padding_w, o.padding, -1),
                pick(o.output_padding_w, o.output_padding, -1), pick(o.dilation_w, o.dilation, 0)};
  for (const Axis& a : {ah, aw}) {
    TG_CHECK(a.stride >= 1, "conv_transpose2d: expected stride >= 1, got ", a.stride);
    TG_CHECK(a.dilation >= 1, "conv_transpose2d: expected dilation >= 1, got ", a.dilation);
    TG_CHECK(a.pad >= 0, "conv_transpose2d: expected padding >= 0, got ", a.pad);
    TG_CHECK(a.out_pad >= 0 && (a.out_pad < a.stride || a.out_pad < a.dilation),
             "conv_transpose2d: expected 0 <= output_padding < stride or < dilation, got "
             "output_padding ", a.out_pad, " with stride ", a.stride, " and dilation ", a.dilation);
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
  Plan plan;
  kernels::ConvGeometry& g = plan.g;
  g.batch = static_cast<std::int64_t>(xs[0]);
  g.out_channels = cin;
  g.in_channels = static_cast<std::int64_t>(ws[1]) * o.groups;
  g.kernel_h = static_cast<std::int64_t>(ws[2]);
  g.kernel_w = static_cast<std::int64_t>(ws[3]);
  g.groups = o.groups;
  g.stride_h = ah.stride, g.stride_w = aw.stride;
  g.dilation_h = ah.dilation, g.dilation_w = aw.dilation;
  const auto h = static_cast<std::int64_t>(xs[2]), w = static_cast<std::int64_t>(xs[3]);
  const std::int64_t full_h = (h - 1) * ah.stride + ah.dilation * (g.kernel_h - 1) + 1;
  const std::int64_t full_w = (w - 1) * aw.stride + aw.dilation * (g.kernel_w - 1) + 1;
  plan.out_h = full_h - 2 * ah.pad + ah.out_pad;
  plan.out_w = full_w - 2 * aw.pad + aw.out_pad;
  TG_CHECK(h >= 1 && w >= 1 && plan.out_h >= 1 && plan.out_w >= 1,
           "conv_transpose2d: expected an output of at least 1x1, got ", plan.out_h, "x",
           plan.out_w, " from input ", shape_str(xs), " and weight ", shape_str(ws),
           "; reduce padding or enlarge the input");
  plan.cropped = ah.out_pad >= ah.stride || aw.out_pad >= aw.stride;
  plan.pointwise = h == 1 && w == 1 && o.groups == 1 && ah.pad == 0 && aw.pad == 0 &&
                   ah.out_pad == 0 && aw.out_pad == 0 && ah.dilation == 1 && aw.dilation == 1;
  if (plan.cropped) {
    plan.pad_h = ah.pad, plan.pad_w = aw.pad;
    g.height = full_h, g.width = full_w;
  } else {
    g.pad_h = ah.pad, g.pad_w = aw.pad;
    g.height = plan.out_h, g.width = plan.out_w;
  }
  g.compute_output_size();  // gives back H x W
  return plan;
}

// Copies the window of `from` [planes, fh, fw] starting at (dh, dw) into `to` [planes, th, tw],
// with zeros where the window leaves `from` (in either direction, as dh, dw may be negative).
void copy_window(const float* from, std::int64_t fh, std::int64_t fw, float* to, std::int64_t th,
                 std::int64_t tw, std::int64_t planes, std::int64_t dh, std::int64_t dw) {
  for (std::int64_t p = 0; p < planes; ++p)
    for (std::int64_t r = 0; r < th; ++r)
      for (std::int64_t q = 0; q < tw; ++q) {
        const std::int64_t sr = r + dh, sq = q + dw;
        to[(p * th + r) * tw + q] =
            sr >= 0 && sr < fh && sq >= 0 && sq < fw ? from[(p * fh + sr) * fw + sq] : 0.0f;
      }
}

}  // namespace

Variable conv_transpose2d(const Variable& x, const Variable& weight, const Variable& bias,
                          ConvTranspose2dFuncOptions options) {
  TG_CHECK(x.defined() && weight.defined(),
           "conv_transpose2d: expected a defined input and weight, got ",
           x.defined() ? "an undefined weight" : "an undefined input");
  const Plan plan = make_plan(x.shape(), weight.shape(), options);
  const kernels::ConvGeometry& g = plan.g;
  const std::int64_t cout = g.in_channels, planes = g.batch * cout;
  const std::int64_t plane = plan.out_h * plan.out_w;
  if (bias.defined())
    TG_CHECK(bias.dim() == 1 && static_cast<std::int64_t>(bias.numel()) == cout,
             "conv_transpose2d: expected bias [", cout, "], got ", shape_str(bias.shape()));
  const auto shape = [&](std::int64_t hh, std::int64_t ww) {
    return Shape{static_cast<std::size_t>(g.batch), static_cast<std::size_t>(cout),
                 static_cast<std::size_t>(hh), static_cast<std::size_t>(ww)};
  };
  Tensor y = empty_tensor(shape(plan.out_h, plan.out_w));
  const std::int64_t cin = g.out_channels, cols = cout * plane;  // pointwise: w is [cin, cols]
  if (plan.pointwise) {
    kernels::gemm(false, false, g.batch, cols, cin, 1.0f, x.value().data(), cin,
                  weight.value().data(), cols, 0.0f, y.data(), cols);
  } else if (plan.cropped) {
    Tensor full = empty_tensor(shape(g.height, g.width));
    kernels::conv2d_backward(x.value().data(), nullptr, weight.value().data(), full.data(),
                             nullptr, nullptr, g);
    copy_window(full.data(), g.height, g.width, y.data(), plan.out_h, plan.out_w, planes,
                plan.pad_h, plan.pad_w);
  } else {
    kernels::conv2d_backward(x.value().data(), nullptr, weight.value().data(), y.data(),
                             nullptr, nullptr, g);
  }
  if (bias.defined()) {
    const float* b = bias.value().data();
    for (std::int64_t p = 0; p < planes; ++p) {
      float* row = y.data() + p * plane;
      for (std::int64_t i = 0; i < plane; ++i) row[i] += b[p % cout];
    }
  }
  return record_op(
      "conv_transpose2d", std::move(y), {x, weight, bias},
      [plan](const GradOutput& gy, const BackwardCtx& ctx) -> TensorList {
        const kernels::ConvGeometry& g = plan.g;
        const bool has_bias = ctx.num_inputs() > 2;
        const std::int64_t cout = g.in_channels, planes = g.batch * cout;
        Tensor padded;  // the output gradient on the uncropped output (cropped plans only)
        if (plan.cropped) {
          padded = empty_tensor({static_cast<std::size_t>(g.batch), static_cast<std::size_t>(cout),
                          static_cast<std::size_t>(g.height), static_cast<std::size_t>(g.width)});
          copy_window(gy.get().data(), plan.out_h, plan.out_w, padded.data(), g.height, g.width,
                      planes, -plan.pad_h, -plan.pad_w);
        }
        const float* gout = plan.cropped ? padded.data() : gy.get().data();
        Tensor gx, gw, gb;
        if (plan.pointwise) {
          const std::int64_t cin = g.out_channels, cols = cout * plan.out_h * plan.out_w;
          if (ctx.needs(0)) {  // gx [N, Cin] = gy [N, cols] @ w^T
            gx = empty_tensor(ctx.input(0).shape());
            kernels::gemm(false, true, g.batch, cin, cols, 1.0f, gout, cols, ctx.input(1).data(),
                          cols, 0.0f, gx.data(), cin);
          }
          if (ctx.needs(1)) {  // gw [Cin, cols] = x^T @ gy
            gw = empty_tensor(ctx.input(1).shape());
            kernels::gemm(true, false, cin, cols, g.batch, 1.0f, ctx.input(0).data(), cin, gout,
                          cols, 0.0f, gw.data(), cols);
          }
        } else if (ctx.needs(0)) {
          gx = empty_tensor(ctx.input(0).shape());
          kernels::conv2d_forward(gout, ctx.input(1).data(), nullptr, gx.data(), g);
        }
        if (ctx.needs(1) && !plan.pointwise) {
          // The conv's weight gradient, with its input = our output gradient and its output
          // gradient = our input.
          gw = empty_tensor(ctx.input(1).shape());
          kernels::conv2d_backward(ctx.input(0).data(), gout, nullptr, nullptr, gw.data(),
                                   nullptr, g);
        }
        if (has_bias && ctx.needs(2)) {
          gb = filled(ctx.input(2).shape(), 0.0f);
          const std::int64_t plane = plan.out_h * plan.out_w;
          const float* go = gy.get().data();
          for (std::int64_t p = 0; p < planes; ++p) {
            double s = 0;
            for (std::int64_t i = 0; i < plane; ++i) s += go[p * plane + i];
            gb.data()[p % cout] += static_cast<float>(s);
          }
        }
        return has_bias ? grad_list(std::move(gx), std::move(gw), std::move(gb))
                        : grad_list(std::move(gx), std::move(gw));
      });
}

}  // namespace tg
