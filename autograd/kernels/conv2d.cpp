#include "autograd/kernels/conv2d.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include "autograd/kernels/gemm.hpp"
#include "autograd/threads.hpp"

namespace tg::kernels {

namespace {

// One group's column matrix [Cin/groups*kH*kW, Ho*Wo]: a pointwise conv reads the input as is.
const float* group_columns(const float* x_group, const ConvGeometry& g, float* workspace) {
  if (g.is_pointwise()) return x_group;
  im2col(x_group, g.in_per_group(), g, workspace, g.out_plane());
  return workspace;
}

std::size_t workspace_size(const ConvGeometry& g, bool wanted) {
  return wanted && !g.is_pointwise() ? static_cast<std::size_t>(g.col_rows() * g.out_plane()) : 0;
}

void forward_images(const float* x, const float* w, const float* bias, float* y,
                    const ConvGeometry& g, std::int64_t begin, std::int64_t end) {
  const std::int64_t k = g.col_rows(), p = g.out_plane();
  const std::int64_t cin_g = g.in_per_group(), cout_g = g.out_per_group();
  std::vector<float> cols(workspace_size(g, true));  // one per chunk, reused for every image
  for (std::int64_t b = begin; b < end; ++b) {
    const float* xb = x + b * g.in_channels * g.in_plane();
    float* yb = y + b * g.out_channels * p;
    for (std::int64_t grp = 0; grp < g.groups; ++grp) {
      const float* c = group_columns(xb + grp * cin_g * g.in_plane(), g, cols.data());
      // y_g [Cout/groups, Ho*Wo] = w_g [Cout/groups, K] @ cols [K, Ho*Wo]
      gemm(false, false, cout_g, p, k, 1.0f, w + grp * cout_g * k, k, c, p, 0.0f,
           yb + grp * cout_g * p, p);
    }
    if (bias)
      for (std::int64_t o = 0; o < g.out_channels; ++o) {
        float* row = yb + o * p;
        for (std::int64_t i = 0; i < p; ++i) row[i] += bias[o];
      }
  }
}

// Gradients of images [begin, end): gx directly, gw/gb accumulated into this chunk's partials.
struct BackwardArgs {
  const float *gy, *x, *w;
  float *gx, *gw, *gb;  // gw, gb: this chunk's partial sums
};

void backward_images(const BackwardArgs& a, const ConvGeometry& g, std::int64_t begin,
                     std::int64_t end) {
  const std::int64_t k = g.col_rows(), p = g.out_plane(), hw = g.in_plane();
  const std::int64_t cin_g = g.in_per_group(), cout_g = g.out_per_group();
  std::vector<float> cols(workspace_size(g, a.gw != nullptr));
  std::vector<float> dcols(workspace_size(g, a.gx != nullptr));
  for (std::int64_t b = begin; b < end; ++b) {
    const float* gyb = a.gy + b * g.out_channels * p;
    float* gxb = a.gx ? a.gx + b * g.in_channels * hw : nullptr;
    if (gxb && !g.is_pointwise()) std::fill(gxb, gxb + g.in_channels * hw, 0.0f);
    for (std::int64_t grp = 0; grp < g.groups; ++grp) {
      const float* gy_g = gyb + grp * cout_g * p;
      const float* w_g = a.w + grp * cout_g * k;
      if (a.gw) {
        const float* c = group_columns(a.x + (b * g.in_channels + grp * cin_g) * hw, g, cols.data());
        // gw_g [Cout/groups, K] += gy_g [Cout/groups, P] @ cols^T [P, K]
        gemm(false, true, cout_g, k, p, 1.0f, gy_g, p, c, p, 1.0f, a.gw + grp * cout_g * k, k);
      }
      if (gxb) {
        float* gx_g = gxb + grp * cin_g * hw;
        // dcols [K, P] = w_g^T [K, Cout/groups] @ gy_g [Cout/groups, P], folded back by col2im
        float* d = g.is_pointwise() ? gx_g : dcols.data();
        gemm(true, false, k, p, cout_g, 1.0f, w_g, k, gy_g, p, 0.0f, d, p);
        if (!g.is_pointwise()) col2im(d, cin_g, g, p, gx_g);
      }
    }
    if (a.gb)
      for (std::int64_t o = 0; o < g.out_channels; ++o) {
        float s = 0.0f;
        for (std::int64_t i = 0; i < p; ++i) s += gyb[o * p + i];
        a.gb[o] += s;
      }
  }
}

}  // namespace

void conv2d_forward(const float* x, const float* w, const float* bias, float* y,
                    const ConvGeometry& g) {
  parallel_for(g.batch, 1, [&](std::int64_t begin, std::int64_t end) {
    forward_images(x, w, bias, y, g, begin, end);
  });
}

void conv2d_backward(const float* gy, const float* x, const float* w, float* gx, float* gw,
                     float* gb, const ConvGeometry& g) {
  const std::size_t nw = gw ? static_cast<std::size_t>(g.out_channels * g.col_rows()) : 0;
  const std::size_t nb = gb ? static_cast<std::size_t>(g.out_channels) : 0;
  // Each chunk sums its images into its own partials; they are added in chunk order afterwards
  // so that the result does not depend on which thread finished first.
  struct Partial {
    std::int64_t begin;
    std::vector<float> gw, gb;
  };
  std::vector<Partial> partials;
  std::mutex mutex;
  parallel_for(g.batch, 1, [&](std::int64_t begin, std::int64_t end) {
    Partial part{begin, std::vector<float>(nw, 0.0f), std::vector<float>(nb, 0.0f)};
    BackwardArgs args{gy, x, w, gx, gw ? part.gw.data() : nullptr, gb ? part.gb.data() : nullptr};
    backward_images(args, g, begin, end);
    std::lock_guard<std::mutex> lock(mutex);
    partials.push_back(std::move(part));
  });
  std::sort(partials.begin(), partials.end(),
            [](const Partial& l, const Partial& r) { return l.begin < r.begin; });
  if (gw) std::fill(gw, gw + nw, 0.0f);
  if (gb) std::fill(gb, gb + nb, 0.0f);
  for (const Partial& part : partials) {
    for (std::size_t i = 0; i < nw; ++i) gw[i] += part.gw[i];
    for (std::size_t i = 0; i < nb; ++i) gb[i] += part.gb[i];
  }
}

}  // namespace tg::kernels
