#include "tapegrad/autograd/interpolate.hpp"

#include <algorithm>
#include <cmath>

#include "tapegrad/autograd/error.hpp"

namespace tg {

namespace {

// One output coordinate's sources along an axis: index0 with weight w0, index1 with w1
// (nearest: index1 = index0, w1 = 0).
struct Tap {
  std::int64_t i0, i1;
  float w0, w1;
};

// PyTorch's UpSample.h, in float as there: compute_scales_value, area_pixel_compute_scale,
// area_pixel_compute_source_index and nearest_idx.
std::vector<Tap> axis_taps(std::int64_t in, std::int64_t out, std::optional<double> factor,
                           InterpolateMode mode, bool align_corners) {
  std::vector<Tap> taps(static_cast<std::size_t>(out));
  const float scale = factor ? static_cast<float>(1.0 / *factor)
                             : static_cast<float>(in) / static_cast<float>(out);
  for (std::int64_t o = 0; o < out; ++o) {
    Tap& t = taps[static_cast<std::size_t>(o)];
    if (mode == InterpolateMode::Nearest) {
      const std::int64_t i =
          out == in       ? o
          : out == 2 * in ? o / 2
                          : std::min(static_cast<std::int64_t>(std::floor(o * scale)), in - 1);
      t = {i, i, 1.0f, 0.0f};
      continue;
    }
    float src;
    if (align_corners) {
      const float s = out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
      src = s * static_cast<float>(o);
    } else {
      src = std::max(scale * (static_cast<float>(o) + 0.5f) - 0.5f, 0.0f);
    }
    const auto i0 = static_cast<std::int64_t>(src);
    const std::int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
    const float l1 = src - static_cast<float>(i0);
    t = {i0, i1, 1.0f - l1, l1};
  }
  return taps;
}

template <typename T>
T axis_value(const std::vector<T>& v, std::size_t axis) {
  return v.size() == 1 ? v[0] : v[axis];
}

}  // namespace

Variable interpolate(const Variable& x, const InterpolateFuncOptions& options) {
  const char* op = "interpolate";
  TG_CHECK(x.defined(), op, ": expected a defined input, got an undefined one");
  const Shape& xs = x.shape();
  TG_CHECK(xs.size() == 4, op, ": expected input [N, C, H, W] (4-D), got ", shape_str(xs),
           xs.size() == 3 ? "; for one image [C, H, W] add the batch dimension: "
                            "x.view({1, C, H, W})" : "");
  const bool by_size = !options.size.empty(), by_factor = !options.scale_factor.empty();
  TG_CHECK(by_size != by_factor, op, ": expected exactly one of size and scale_factor, got ",
           by_size ? "both" : "neither");
  TG_CHECK(options.size.size() <= 2 && options.scale_factor.size() <= 2, op,
           ": expected size and scale_factor of one or two values (height, width), got ",
           options.size.size() + options.scale_factor.size());
  TG_CHECK(options.mode == InterpolateMode::Bilinear || !options.align_corners.has_value(), op,
           ": align_corners can only be set with bilinear mode (leave it unset for nearest)");
  const bool align = options.align_corners.value_or(false);
  const auto n = static_cast<std::int64_t>(xs[0]), c = static_cast<std::int64_t>(xs[1]);
  const std::int64_t in[2] = {static_cast<std::int64_t>(xs[2]), static_cast<std::int64_t>(xs[3])};
  std::int64_t out[2];
  std::optional<double> factor[2];
  for (std::size_t a = 0; a < 2; ++a) {
    if (by_size) {
      out[a] = axis_value(options.size, a);
    } else {
      const double f = axis_value(options.scale_factor, a);
      TG_CHECK(f > 0 && std::isfinite(f), op, ": expected scale_factor > 0, got ", f);
      // An absurd factor would overflow the size or ask for terabytes: refused up front.
      TG_CHECK(static_cast<double>(in[a]) * f < 1e9, op, ": expected an output side below 1e9, got ",
               static_cast<double>(in[a]) * f, " from side ", in[a], " and scale_factor ", f);
      factor[a] = f;
      out[a] = static_cast<std::int64_t>(std::floor(static_cast<double>(in[a]) * f));
    }
  }
  TG_CHECK(out[0] < 1'000'000'000 && out[1] < 1'000'000'000, op,
           ": expected an output side below 1e9, got ", out[0], "x", out[1]);
  TG_CHECK(in[0] >= 1 && in[1] >= 1 && out[0] >= 1 && out[1] >= 1, op,
           ": expected input and output sizes >= 1, got input ", shape_str(xs), " and output ",
           out[0], "x", out[1]);
  const std::vector<Tap> th = axis_taps(in[0], out[0], factor[0], options.mode, align);
  const std::vector<Tap> tw = axis_taps(in[1], out[1], factor[1], options.mode, align);
  const std::int64_t planes = n * c, ip = in[0] * in[1], opl = out[0] * out[1];
  Tensor y = empty_tensor({xs[0], xs[1], static_cast<std::size_t>(out[0]), static_cast<std::size_t>(out[1])});
  const float* xv = x.value().data();
  for (std::int64_t p = 0; p < planes; ++p) {
    const float* src = xv + p * ip;
    float* dst = y.data() + p * opl;
    for (std::int64_t r = 0; r < out[0]; ++r) {
      const Tap& h = th[static_cast<std::size_t>(r)];
      const float* row0 = src + h.i0 * in[1];
      const float* row1 = src + h.i1 * in[1];
      for (std::int64_t q = 0; q < out[1]; ++q) {
        const Tap& w = tw[static_cast<std::size_t>(q)];
        dst[r * out[1] + q] = h.w0 * (w.w0 * row0[w.i0] + w.w1 * row0[w.i1]) +
                              h.w1 * (w.w0 * row1[w.i0] + w.w1 * row1[w.i1]);
      }
    }
  }
  return record_op(op, std::move(y), {x},
                   [th, tw, planes, in0 = in[0], in1 = in[1], out0 = out[0], out1 = out[1]](
                       Tensor gy, const BackwardCtx& ctx) -> TensorList {
                     Tensor gx = filled(ctx.input(0).shape(), 0.0f);
                     for (std::int64_t p = 0; p < planes; ++p) {
                       const float* g = gy.data() + p * out0 * out1;
                       float* dst = gx.data() + p * in0 * in1;
                       for (std::int64_t r = 0; r < out0; ++r) {
                         const Tap& h = th[static_cast<std::size_t>(r)];
                         float* row0 = dst + h.i0 * in1;
                         float* row1 = dst + h.i1 * in1;
                         for (std::int64_t q = 0; q < out1; ++q) {
                           const Tap& w = tw[static_cast<std::size_t>(q)];
                           const float v = g[r * out1 + q];
                           row0[w.i0] += h.w0 * w.w0 * v;
                           row0[w.i1] += h.w0 * w.w1 * v;
                           row1[w.i0] += h.w1 * w.w0 * v;
                           row1[w.i1] += h.w1 * w.w1 * v;
                         }
                       }
                     }
                     return grad_list(std::move(gx));
                   });
}

}  // namespace tg
