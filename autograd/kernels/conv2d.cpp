#include "tapegrad/autograd/kernels/conv2d.hpp"

#include <algorithm>
#include <mutex>
#include <optional>
#include <vector>

#include "tapegrad/autograd/kernels/conv2d_implicit.hpp"
#include "tapegrad/autograd/kernels/conv2d_winograd.hpp"
#include "tapegrad/autograd/kernels/gemm.hpp"
#include "tapegrad/autograd/kernels/gemm_bf16.hpp"
#include "tapegrad/autograd/kernels/small_gemm.hpp"
#include "tapegrad/autograd/threads.hpp"

namespace tg::kernels {

namespace {

// Convolutions with at least this many output channels per group run their products through
// small_gemm; thinner ones (an RGB stem with 5 filters) call the BLAS (kernels::gemm), which
// handles a GEMM dimension below one vector better (measured on the seed network's shapes:
// dnnl_sgemm 1.3-1.9x small_gemm there).
constexpr std::int64_t min_small_gemm_channels = 16;

bool uses_small_gemm(const ConvGeometry& g) { return g.out_per_group() >= min_small_gemm_channels; }

// The leading dimension of a column matrix in the workspace: padded so that its rows do not
// alias in the L1 cache when small_gemm walks down them.
std::int64_t columns_ld(const ConvGeometry& g) { return padded_row_stride(g.out_plane()); }

// One group's column matrix [Cin/groups*kH*kW, Ho*Wo] and its leading dimension: a pointwise
// conv reads the input as is.
const float* group_columns(const float* x_group, const ConvGeometry& g, float* workspace,
                           std::int64_t& ld) {
  if (g.is_pointwise()) {
    ld = g.out_plane();
    return x_group;
  }
  ld = columns_ld(g);
  im2col(x_group, g.in_per_group(), g, workspace, ld);
  return workspace;
}

// Images per parallel task: enough work (~1 MFLOP) that waking a thread pays off, so that the
// small convolutions of tests and tiny models run inline.
std::int64_t image_grain(const ConvGeometry& g) {
  const std::int64_t flop_per_image = 2 * g.out_channels * g.out_plane() * g.col_rows();
  return std::max<std::int64_t>(1, (1 << 20) / std::max<std::int64_t>(1, flop_per_image));
}

std::size_t workspace_size(const ConvGeometry& g, bool wanted) {
  return wanted && !g.is_pointwise() ? static_cast<std::size_t>(g.col_rows() * columns_ld(g)) : 0;
}

// y_g [Cout/groups, P] = w_g [Cout/groups, K] @ cols [K, P] (leading dimension ld).
void output_gemm(const float* w_g, const float* cols, std::int64_t ld, float* y_g,
                 std::int64_t cout_g, std::int64_t k, std::int64_t p) {
  if (cout_g >= min_small_gemm_channels) {
    small_gemm(cout_g, p, k, {w_g, k, 1}, {cols, ld}, y_g, p, false);
    return;
  }
  gemm(false, false, cout_g, p, k, 1.0f, w_g, k, cols, ld, 0.0f, y_g, p);
}

// y_b [Cout, Ho*Wo] = conv of one image x_b [Cin, H, W] (+ bias), group by group, through
// `implicit` when given, else through the column matrix in `cols`.
void forward_image(const float* xb, const float* w, const float* bias, float* yb,
                   const ConvGeometry& g, float* cols, ImplicitConv* implicit) {
  const std::int64_t k = g.col_rows(), p = g.out_plane();
  const std::int64_t cin_g = g.in_per_group(), cout_g = g.out_per_group();
  if (implicit) implicit->forward(xb, w, yb);
  for (std::int64_t grp = 0; grp < g.groups && !implicit; ++grp) {
    std::int64_t ld = 0;
    const float* c = group_columns(xb + grp * cin_g * g.in_plane(), g, cols, ld);
    output_gemm(w + grp * cout_g * k, c, ld, yb + grp * cout_g * p, cout_g, k, p);
  }
  if (bias)
    for (std::int64_t o = 0; o < g.out_channels; ++o) {
      float* row = yb + o * p;
      for (std::int64_t i = 0; i < p; ++i) row[i] += bias[o];
    }
}

// With stride 1, the input gradient is itself a convolution: of gy with the kernel flipped in
// both axes and its channel axes swapped, padded by dilation*(k-1) - padding. That replaces a
// thin GEMM plus col2im's scattered adds with the forward's im2col + GEMM. That GEMM has
// Cin/groups rows, so few input channels (an RGB input layer) keep the col2im route, which
// measured faster there.
bool input_grad_is_conv(const ConvGeometry& g) {
  return g.in_per_group() >= 8 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h <= g.dilation_h * (g.kernel_h - 1) &&
         g.pad_w <= g.dilation_w * (g.kernel_w - 1);
}

ConvGeometry input_grad_geometry(const ConvGeometry& g) {
  ConvGeometry t = g;
  t.in_channels = g.out_channels;
  t.out_channels = g.in_channels;
  t.height = g.out_h;
  t.width = g.out_w;
  t.pad_h = g.dilation_h * (g.kernel_h - 1) - g.pad_h;
  t.pad_w = g.dilation_w * (g.kernel_w - 1) - g.pad_w;
  t.compute_output_size();  // gives back H x W
  return t;
}

// wt [Cin, Cout/groups, kH, kW]: wt[c][o][kH-1-i][kW-1-j] = w[o][c][i][j] within each group.
std::vector<float> flipped_weight(const float* w, const ConvGeometry& g) {
  const std::int64_t cin_g = g.in_per_group(), cout_g = g.out_per_group();
  const std::int64_t taps = g.kernel_h * g.kernel_w;
  std::vector<float> wt(static_cast<std::size_t>(g.out_channels * cin_g * taps));
  for (std::int64_t grp = 0; grp < g.groups; ++grp)
    for (std::int64_t o = 0; o < cout_g; ++o)
      for (std::int64_t c = 0; c < cin_g; ++c)
        for (std::int64_t t = 0; t < taps; ++t)
          wt[((grp * cin_g + c) * cout_g + o) * taps + (taps - 1 - t)] =
              w[((grp * cout_g + o) * cin_g + c) * taps + t];
  return wt;
}

// Sum of n floats in 16 interleaved partial sums, which the compiler can keep in one vector.
float sum(const float* v, std::int64_t n) {
  float lanes[16] = {};
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) lanes[j] += v[i + j];
  float total = 0.0f;
  for (; i < n; ++i) total += v[i];
  for (float l : lanes) total += l;
  return total;
}

// What backward_images reads and writes; gw and gb are the chunk's own partial sums.
struct BackwardArgs {
  const float *gy, *x, *w;
  const float* w_flipped;  // set when the input gradient is computed as a convolution
  float *gx, *gw, *gb;  // gw: per group [K, Cout/groups], the transpose of the weight layout
};

// gx_b from gy_b by the generic route: dcols = w_g^T @ gy_g, folded back by col2im.
void input_grad_by_col2im(const BackwardArgs& a, const ConvGeometry& g, std::int64_t b,
                          float* dcols) {
  const std::int64_t k = g.col_rows(), p = g.out_plane(), hw = g.in_plane();
  const std::int64_t cin_g = g.in_per_group(), cout_g = g.out_per_group();
  float* gxb = a.gx + b * g.in_channels * hw;
  if (!g.is_pointwise()) std::fill(gxb, gxb + g.in_channels * hw, 0.0f);
  for (std::int64_t grp = 0; grp < g.groups; ++grp) {
    float* gx_g = gxb + grp * cin_g * hw;
    float* d = g.is_pointwise() ? gx_g : dcols;
    const float* w_g = a.w + grp * cout_g * k;
    const float* gy_g = a.gy + (b * g.out_channels + grp * cout_g) * p;
    if (uses_small_gemm(g))
      small_gemm(k, p, cout_g, {w_g, 1, k}, {gy_g, p}, d, p, false);
    else
      gemm(true, false, k, p, cout_g, 1.0f, w_g, k, gy_g, p, 0.0f, d, p);
    if (!g.is_pointwise()) col2im(d, cin_g, g, p, gx_g);
  }
}

// gw_g^T [K, Cout/groups] += cols [K, P] (leading dimension ld) @ gy_g^T [P, Cout/groups];
// `scratch` holds P x Cout/groups floats for small_gemm, Cout/groups x K for the BLAS.
void weight_grad_gemm(const float* cols, std::int64_t ld, const float* gy_g, float* gw_t,
                      std::int64_t cout_g, std::int64_t k, std::int64_t p, std::vector<float>& scratch) {
  if (cout_g >= min_small_gemm_channels) {
    // small_gemm wants gy_g^T's rows contiguous, so gy_g is transposed first (a pass over
    // Cout x P floats, against the product's K times as many operations).
    float* gy_t = scratch.data();
    for (std::int64_t i = 0; i < p; ++i)  // channels innermost: contiguous writes
      for (std::int64_t o = 0; o < cout_g; ++o) gy_t[i * cout_g + o] = gy_g[o * p + i];
    small_gemm(k, cout_g, p, {cols, ld, 1}, {gy_t, cout_g}, gw_t, cout_g, true);
    return;
  }
  if (p > k) {
    // A long sum over positions (the seed conv: K = 75, P = 784): gw_g = gy_g @ cols^T, a wide
    // product with Cout rows, added transposed. dnnl_sgemm: 1.7-2.1x the orientation below
    // there, 0.9x when P < K (5 -> 10 on 14 x 14); OpenBLAS: on par or faster (measured).
    float* gw_g = scratch.data();  // [Cout/groups, K]
    gemm(false, true, cout_g, k, p, 1.0f, gy_g, p, cols, ld, 0.0f, gw_g, k);
    for (std::int64_t r = 0; r < k; ++r)
      for (std::int64_t o = 0; o < cout_g; ++o) gw_t[r * cout_g + o] += gw_g[o * k + r];
    return;
  }
  // For OpenBLAS this orientation ran ~1.5x faster than gw_g = gy_g @ cols^T for the usual
  // thin Cout, and for K >= 128 another ~1.1x faster in slices of 64 positions (measured; a
  // loss for small K).
  const std::int64_t slice = k >= 128 ? 64 : p;
  for (std::int64_t j = 0; j < p; j += slice)
    gemm(false, true, k, cout_g, std::min(slice, p - j), 1.0f, cols + j, ld, gy_g + j, p, 1.0f,
         gw_t, cout_g);
}

void backward_images(const BackwardArgs& a, const ConvGeometry& g, std::int64_t begin,
                     std::int64_t end) {
  const std::int64_t k = g.col_rows(), p = g.out_plane(), hw = g.in_plane();
  const std::int64_t cin_g = g.in_per_group(), cout_g = g.out_per_group();
  const ConvGeometry gt = a.w_flipped ? input_grad_geometry(g) : g;
  std::optional<ImplicitConv> weight_implicit, input_implicit;
  if (a.gw && implicit_conv_applies(g)) weight_implicit.emplace(g);
  if (a.gx && a.w_flipped && implicit_conv_applies(gt)) input_implicit.emplace(gt);
  std::vector<float> cols(workspace_size(g, a.gw && !weight_implicit));
  std::vector<float> dcols(a.w_flipped ? workspace_size(gt, !input_implicit)
                                       : workspace_size(g, a.gx != nullptr));
  std::vector<float> scratch(a.gw && !weight_implicit ? static_cast<std::size_t>(uses_small_gemm(g) ? p * cout_g : cout_g * k) : 0);
  for (std::int64_t b = begin; b < end; ++b) {
    const float* gyb = a.gy + b * g.out_channels * p;
    if (weight_implicit) weight_implicit->accumulate_weight_grad(a.x + b * g.in_channels * hw, gyb, a.gw);
    for (std::int64_t grp = 0; grp < g.groups && a.gw && !weight_implicit; ++grp) {
      std::int64_t ld = 0;
      const float* c = group_columns(a.x + (b * g.in_channels + grp * cin_g) * hw, g, cols.data(), ld);
      weight_grad_gemm(c, ld, gyb + grp * cout_g * p, a.gw + grp * k * cout_g, cout_g, k, p, scratch);
    }
    if (a.gx && a.w_flipped)
      forward_image(gyb, a.w_flipped, nullptr, a.gx + b * g.in_channels * hw, gt, dcols.data(),
                    input_implicit ? &*input_implicit : nullptr);
    else if (a.gx)
      input_grad_by_col2im(a, g, b, dcols.data());
    if (a.gb)
      for (std::int64_t o = 0; o < g.out_channels; ++o) a.gb[o] += sum(gyb + o * p, p);
  }
}


// Autocast's route: every product through gemm_bf16, which rounds its operands to bf16 while it
// packs them (Winograd's transforms and small_gemm are fp32-only). Columns come from im2col as
// in the fp32 route; the weight gradient is gw [Cout, K] += gy_b [Cout, P] @ columns^T, whose
// transposed operand packs as adjacent pairs of floats.

// Each group's weights [Cout/groups, K] (or their transposes), packed once for the batch.
std::vector<PackedBf16A> packed_groups(const float* w, const ConvGeometry& g, bool transposed) {
  const std::int64_t k = g.col_rows(), cout_g = g.out_per_group();
  std::vector<PackedBf16A> packed;
  for (std::int64_t grp = 0; grp < g.groups; ++grp)
    packed.emplace_back(transposed, transposed ? k : cout_g, transposed ? cout_g : k, w + grp * cout_g * k, k);
  return packed;
}

void forward_image_bf16(const float* xb, const std::vector<PackedBf16A>& w, const float* bias, float* yb,
                        const ConvGeometry& g, float* cols) {
  const std::int64_t p = g.out_plane();
  const std::int64_t cin_g = g.in_per_group(), cout_g = g.out_per_group();
  for (std::int64_t grp = 0; grp < g.groups; ++grp) {
    std::int64_t ld = 0;
    const float* c = group_columns(xb + grp * cin_g * g.in_plane(), g, cols, ld);
    gemm_bf16(w[std::size_t(grp)], false, p, c, ld, 0.0f, yb + grp * cout_g * p, p);
  }
  if (bias)
    for (std::int64_t o = 0; o < g.out_channels; ++o) {
      float* row = yb + o * p;
      for (std::int64_t i = 0; i < p; ++i) row[i] += bias[o];
    }
}

void add_bias(const float* bias, float* yb, const ConvGeometry& g) {
  const std::int64_t p = g.out_plane();
  for (std::int64_t o = 0; o < g.out_channels && bias; ++o) {
    float* row = yb + o * p;
    for (std::int64_t i = 0; i < p; ++i) row[i] += bias[o];
  }
}

void conv2d_forward_bf16(const float* x, const float* w, const float* bias, float* y,
                         const ConvGeometry& g) {
  if (implicit_bf16_applies(g)) {
    const ImplicitConvBf16 conv(w, g);
    parallel_for(g.batch, image_grain(g), [&](std::int64_t begin, std::int64_t end) {
      ImplicitConvBf16::Scratch scratch(conv);
      for (std::int64_t b = begin; b < end; ++b) {
        float* yb = y + b * g.out_channels * g.out_plane();
        conv.forward(x + b * g.in_channels * g.in_plane(), yb, scratch);
        add_bias(bias, yb, g);
      }
    });
    return;
  }
  const std::vector<PackedBf16A> packed = packed_groups(w, g, false);
  parallel_for(g.batch, image_grain(g), [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> cols(workspace_size(g, true));
    for (std::int64_t b = begin; b < end; ++b)
      forward_image_bf16(x + b * g.in_channels * g.in_plane(), packed, bias,
                         y + b * g.out_channels * g.out_plane(), g, cols.data());
  });
}

// The weight gradient of a stride-1 conv without im2col: gw [Cout, K] += gy_wide [Cout, Q] @
// rows^T, Q = Ho * Wp positions on the padded width, row k = (c, ki, kj) of im2col's matrix
// being the zero-padded input plane c shifted by ki * Wp + kj; gy_wide is gy with zeros in the
// kW - 1 dropped columns of each row, so that those positions add nothing.
struct ShiftedRows {
  std::int64_t padded_w, padded_plane, wide;
  std::vector<float> padded, gy_wide;
  std::vector<const float*> rows;
  const ConvGeometry& g;

  explicit ShiftedRows(const ConvGeometry& geometry)
      : padded_w(geometry.width + 2 * geometry.pad_w),
        padded_plane((geometry.height + 2 * geometry.pad_h) * padded_w),
        wide(geometry.out_h * padded_w),
        padded(static_cast<std::size_t>(geometry.in_channels * padded_plane + geometry.kernel_w), 0.0f),
        gy_wide(static_cast<std::size_t>(geometry.out_channels * wide), 0.0f),
        rows(static_cast<std::size_t>(geometry.col_rows())),
        g(geometry) {
    const std::int64_t taps = g.kernel_h * g.kernel_w;
    for (std::int64_t c = 0; c < g.in_channels; ++c)
      for (std::int64_t t = 0; t < taps; ++t)
        rows[std::size_t(c * taps + t)] = padded.data() + c * padded_plane + (t / g.kernel_w) * padded_w + t % g.kernel_w;
  }

  void load(const float* xb, const float* gyb) {
    for (std::int64_t c = 0; c < g.in_channels; ++c)
      for (std::int64_t r = 0; r < g.height; ++r)
        std::copy(xb + (c * g.height + r) * g.width, xb + (c * g.height + r + 1) * g.width,
                  padded.data() + c * padded_plane + (r + g.pad_h) * padded_w + g.pad_w);
    for (std::int64_t o = 0; o < g.out_channels; ++o)
      for (std::int64_t r = 0; r < g.out_h; ++r)
        std::copy(gyb + (o * g.out_h + r) * g.out_w, gyb + (o * g.out_h + r + 1) * g.out_w,
                  gy_wide.data() + o * wide + r * padded_w);
  }
};

void conv2d_backward_bf16(const float* gy, const float* x, const float* w, float* gx, float* gw,
                          float* gb, const ConvGeometry& g) {
  const std::int64_t k = g.col_rows(), p = g.out_plane(), hw = g.in_plane();
  const std::int64_t cin_g = g.in_per_group(), cout_g = g.out_per_group();
  std::vector<float> w_flipped;
  if (gx && input_grad_is_conv(g)) w_flipped = flipped_weight(w, g);
  const ConvGeometry gt = w_flipped.empty() ? g : input_grad_geometry(g);
  // The input gradient's weights: the flipped kernel of the convolution that gives it, or the
  // transposed weights of the col2im route.
  std::vector<PackedBf16A> w_packed;
  std::optional<ImplicitConvBf16> gx_implicit;
  if (gx && !w_flipped.empty() && implicit_bf16_applies(gt)) gx_implicit.emplace(w_flipped.data(), gt);
  else if (gx) w_packed = w_flipped.empty() ? packed_groups(w, g, true) : packed_groups(w_flipped.data(), gt, false);
  const std::size_t nw = gw ? static_cast<std::size_t>(g.out_channels * k) : 0;
  const std::size_t nb = gb ? static_cast<std::size_t>(g.out_channels) : 0;
  struct Partial {
    std::int64_t begin;
    std::vector<float> gw, gb;
  };
  std::vector<Partial> partials;
  std::mutex mutex;
  parallel_for(g.batch, image_grain(g), [&](std::int64_t begin, std::int64_t end) {
    Partial part{begin, std::vector<float>(nw, 0.0f), std::vector<float>(nb, 0.0f)};
    std::optional<ShiftedRows> gw_shifted;
    if (gw && implicit_bf16_applies(g)) gw_shifted.emplace(g);
    std::vector<float> cols(workspace_size(g, gw != nullptr && !gw_shifted));
    std::vector<float> dcols(gx_implicit ? 0 : w_flipped.empty() ? workspace_size(g, gx != nullptr) : workspace_size(gt, true));
    std::optional<ImplicitConvBf16::Scratch> gx_scratch;
    if (gx_implicit) gx_scratch.emplace(*gx_implicit);
    for (std::int64_t b = begin; b < end; ++b) {
      const float* gyb = gy + b * g.out_channels * p;
      if (gw && gw_shifted) {
        gw_shifted->load(x + b * g.in_channels * hw, gyb);
        gemm_bf16_columns(g.out_channels, k, gw_shifted->wide, gw_shifted->gy_wide.data(), gw_shifted->wide,
                          gw_shifted->rows.data(), 1.0f, part.gw.data(), k);
      }
      for (std::int64_t grp = 0; grp < g.groups && gw && !gw_shifted; ++grp) {
        std::int64_t ld = 0;
        const float* c = group_columns(x + (b * g.in_channels + grp * cin_g) * hw, g, cols.data(), ld);
        gemm_bf16(false, true, cout_g, k, p, gyb + grp * cout_g * p, p, c, ld, 1.0f,
                  part.gw.data() + grp * cout_g * k, k);
      }
      float* gxb = gx ? gx + b * g.in_channels * hw : nullptr;
      if (gxb && gx_implicit) {
        gx_implicit->forward(gyb, gxb, *gx_scratch);
      } else if (gxb && !w_flipped.empty()) {
        forward_image_bf16(gyb, w_packed, nullptr, gxb, gt, dcols.data());
      } else if (gxb) {
        if (!g.is_pointwise()) std::fill(gxb, gxb + g.in_channels * hw, 0.0f);
        for (std::int64_t grp = 0; grp < g.groups; ++grp) {
          float* gx_g = gxb + grp * cin_g * hw;
          float* d = g.is_pointwise() ? gx_g : dcols.data();
          gemm_bf16(w_packed[std::size_t(grp)], false, p, gyb + grp * cout_g * p, p, 0.0f, d, p);
          if (!g.is_pointwise()) col2im(d, cin_g, g, p, gx_g);
        }
      }
      for (std::size_t o = 0; o < nb; ++o) part.gb[o] += sum(gyb + o * p, p);
    }
    std::lock_guard<std::mutex> lock(mutex);
    partials.push_back(std::move(part));
  });
  // Added in image order, as the fp32 route, so the result does not depend on thread timing.
  std::sort(partials.begin(), partials.end(),
            [](const Partial& l, const Partial& r) { return l.begin < r.begin; });
  if (gw) std::fill(gw, gw + nw, 0.0f);
  if (gb) std::fill(gb, gb + nb, 0.0f);
  for (const Partial& part : partials) {
    for (std::size_t i = 0; i < nw; ++i) gw[i] += part.gw[i];
    for (std::size_t i = 0; i < nb; ++i) gb[i] += part.gb[i];
  }
}

}  // namespace

// Measured per ResNet-20 layer, one thread, 8 images, fwd+bwd against the fp32 routes (a loaded
// machine: preliminary): the 16-channel stride-1 3x3 conv (ImplicitConvBf16) 1.4x, stride-2 3x3
// and 1x1 convs and the 3-channel stem 1.1-1.3x. Where Winograd applies it stays, with bf16
// products (1.0-1.1x): ImplicitConvBf16 there ran 0.94-1.0x the fp32 Winograd.
bool conv2d_bf16_route(const ConvGeometry& g) { return !winograd_applies(g); }

void conv2d_forward(const float* x, const float* w, const float* bias, float* y,
                    const ConvGeometry& g, bool bf16) {
  if (bf16 && conv2d_bf16_route(g)) {
    conv2d_forward_bf16(x, w, bias, y, g);
    return;
  }
  if (winograd_applies(g)) {
    winograd_conv2d_forward(x, w, bias, y, g, bf16);
    return;
  }
  const bool implicit = implicit_forward_applies(g);
  parallel_for(g.batch, image_grain(g), [&](std::int64_t begin, std::int64_t end) {
    // One scratch per task, reused for every image.
    std::optional<ImplicitConv> scratch;
    if (implicit) scratch.emplace(g);
    std::vector<float> cols(workspace_size(g, !implicit));
    for (std::int64_t b = begin; b < end; ++b)
      forward_image(x + b * g.in_channels * g.in_plane(), w, bias,
                    y + b * g.out_channels * g.out_plane(), g, cols.data(),
                    scratch ? &*scratch : nullptr);
  });
}

void conv2d_backward(const float* gy, const float* x, const float* w, float* gx, float* gw,
                     float* gb, const ConvGeometry& g, bool bf16) {
  if (bf16 && conv2d_bf16_route(g)) {
    conv2d_backward_bf16(gy, x, w, gx, gw, gb, g);
    return;
  }
  std::vector<float> w_flipped;
  if (gx && input_grad_is_conv(g)) w_flipped = flipped_weight(w, g);
  // The input gradient as a convolution of its own when Winograd's transforms pay for it, and
  // the weight gradient through the same tiles: passes over the batch before the per-image loop
  // below, which is then left what remains.
  if (!w_flipped.empty() && winograd_applies(input_grad_geometry(g))) {
    winograd_conv2d_forward(gy, w_flipped.data(), nullptr, gx, input_grad_geometry(g), bf16);
    gx = nullptr;
    w_flipped.clear();
  }
  if (gw && winograd_applies(g)) {
    winograd_conv2d_weight_grad(x, gy, gw, g, bf16);
    gw = nullptr;
  }
  if (!gx && !gw && !gb) return;
  const std::size_t nw = gw ? static_cast<std::size_t>(g.out_channels * g.col_rows()) : 0;
  const std::size_t nb = gb ? static_cast<std::size_t>(g.out_channels) : 0;
  // Each task sums its images into its own partials; they are added in task order afterwards
  // so that the result does not depend on which thread finished first.
  struct Partial {
    std::int64_t begin;
    std::vector<float> gw, gb;
  };
  std::vector<Partial> partials;
  std::mutex mutex;
  parallel_for(g.batch, image_grain(g), [&](std::int64_t begin, std::int64_t end) {
    Partial part{begin, std::vector<float>(nw, 0.0f), std::vector<float>(nb, 0.0f)};
    const BackwardArgs args{gy, x, w, w_flipped.empty() ? nullptr : w_flipped.data(), gx,
                            gw ? part.gw.data() : nullptr, gb ? part.gb.data() : nullptr};
    backward_images(args, g, begin, end);
    std::lock_guard<std::mutex> lock(mutex);
    partials.push_back(std::move(part));
  });
  std::sort(partials.begin(), partials.end(),
            [](const Partial& l, const Partial& r) { return l.begin < r.begin; });
  if (gw) std::fill(gw, gw + nw, 0.0f);
  if (gb) std::fill(gb, gb + nb, 0.0f);
  const std::int64_t k = g.col_rows(), cout_g = g.out_per_group();
  for (const Partial& part : partials) {
    for (std::int64_t grp = 0; grp < g.groups && gw; ++grp)
      for (std::int64_t o = 0; o < cout_g; ++o)
        for (std::int64_t r = 0; r < k; ++r)
          gw[(grp * cout_g + o) * k + r] += part.gw[(grp * k + r) * cout_g + o];
    for (std::size_t i = 0; i < nb; ++i) gb[i] += part.gb[i];
  }
}

}  // namespace tg::kernels
