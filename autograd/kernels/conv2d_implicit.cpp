#include "tapegrad/autograd/kernels/conv2d_implicit.hpp"

#include "tapegrad/autograd/kernels/copy_rows.hpp"
#include "tapegrad/autograd/kernels/small_gemm.hpp"

namespace tg::kernels {

namespace {
bool shifted_rows_apply(const ConvGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 && !g.is_pointwise();
}
}  // namespace

bool implicit_conv_applies(const ConvGeometry& g) { return shifted_rows_apply(g) && g.out_per_group() >= 16; }

bool implicit_forward_applies(const ConvGeometry& g) { return shifted_rows_apply(g) && g.out_per_group() >= 4; }

ImplicitConv::ImplicitConv(const ConvGeometry& g)
    : g_(g),
      padded_w_(g.width + 2 * g.pad_w),
      padded_plane_((g.height + 2 * g.pad_h) * padded_w_),
      wide_(g.out_h * padded_w_),
      // The last tap of the last channel reads kW - 1 floats past the plane (dropped columns).
      padded_(static_cast<std::size_t>(g.in_channels * padded_plane_ + g.kernel_w), 0.0f),
      rows_(static_cast<std::size_t>(g.col_rows())) {}

void ImplicitConv::load_padded(const float* xb) {
  for (std::int64_t c = 0; c < g_.in_channels; ++c)
    copy_rows(xb + c * g_.in_plane(), g_.width, padded_.data() + c * padded_plane_ + g_.pad_h * padded_w_ + g_.pad_w,
              padded_w_, g_.height, g_.width);
}

namespace {

// Row (c, ki, kj) of group grp's column matrix on the wide grid: the padded plane of channel c
// shifted by the tap. The table is rebuilt per group (K pointers, against K * wide FMAs).
void shifted_rows(const float* padded, const ConvGeometry& g, std::int64_t grp,
                  std::int64_t padded_w, std::int64_t padded_plane, std::vector<const float*>& rows) {
  std::size_t r = 0;
  for (std::int64_t c = 0; c < g.in_per_group(); ++c)
    for (std::int64_t ki = 0; ki < g.kernel_h; ++ki)
      for (std::int64_t kj = 0; kj < g.kernel_w; ++kj)
        rows[r++] = padded + (grp * g.in_per_group() + c) * padded_plane + ki * padded_w + kj;
}

}  // namespace

void ImplicitConv::forward(const float* xb, const float* w, float* yb) {
  load_padded(xb);
  const std::int64_t k = g_.col_rows(), cout_g = g_.out_per_group();
  const std::int64_t wo = g_.out_w, ho = g_.out_h;
  wide_out_.resize(static_cast<std::size_t>(cout_g * wide_));
  for (std::int64_t grp = 0; grp < g_.groups; ++grp) {
    shifted_rows(padded_.data(), g_, grp, padded_w_, padded_plane_, rows_);
    small_gemm(cout_g, wide_, k, {w + grp * cout_g * k, k, 1}, {nullptr, 0, rows_.data()},
               wide_out_.data(), wide_, false);
    float* y_g = yb + grp * cout_g * ho * wo;
    for (std::int64_t o = 0; o < cout_g; ++o)
      copy_rows(wide_out_.data() + o * wide_, padded_w_, y_g + o * ho * wo, wo, ho, wo);
  }
}

void ImplicitConv::accumulate_weight_grad(const float* xb, const float* gyb, float* gw_t) {
  load_padded(xb);
  const std::int64_t k = g_.col_rows(), cout_g = g_.out_per_group();
  const std::int64_t wo = g_.out_w, ho = g_.out_h, p = g_.out_plane();
  // The dropped positions of the wide grid stay 0 here, so their (finite) inputs add nothing.
  wide_gy_t_.resize(static_cast<std::size_t>(wide_ * cout_g), 0.0f);
  for (std::int64_t grp = 0; grp < g_.groups; ++grp) {
    const float* gy_g = gyb + grp * cout_g * p;
    // Channels innermost: the writes run contiguously and the cout_g read streams stay in L1.
    for (std::int64_t i = 0; i < ho; ++i)
      for (std::int64_t j = 0; j < wo; ++j) {
        float* dst = wide_gy_t_.data() + (i * padded_w_ + j) * cout_g;
        const float* src = gy_g + i * wo + j;
        for (std::int64_t o = 0; o < cout_g; ++o) dst[o] = src[o * p];
      }
    shifted_rows(padded_.data(), g_, grp, padded_w_, padded_plane_, rows_);
    small_gemm(k, cout_g, wide_, {nullptr, 0, 1, rows_.data()}, {wide_gy_t_.data(), cout_g},
               gw_t + grp * k * cout_g, cout_g, true);
  }
}

}  // namespace tg::kernels
