#include <algorithm>
#include <mutex>
#include <type_traits>
#include <vector>

#include "tapegrad/autograd/kernels/conv2d_winograd.hpp"
#include "tapegrad/autograd/kernels/gemm_bf16.hpp"
#include "tapegrad/autograd/kernels/small_gemm.hpp"
#include "tapegrad/autograd/kernels/winograd_tiles.hpp"
#include "tapegrad/autograd/threads.hpp"

namespace tg::kernels {

namespace {

using namespace winograd;

// dm[xi * xi_stride] = (A dY A^T)[xi] for a tile's 2x2 output gradient dY = [a b; c d],
// A = [1 0; 1 1; 1 -1; 0 -1] (the forward's Y = A^T M A, differentiated), for one vector of
// output channels or one channel.
template <class V>
void transform_output_grad(const V& a, const V& b, const V& c, const V& d, float* dm, std::int64_t xi_stride) {
  const V zero(0.0f);
  const V rows[4][2] = {{a, b}, {a + c, b + d}, {a - c, b - d}, {zero - c, zero - d}};  // A dY
  for (int i = 0; i < 4; ++i) {
    const V p = rows[i][0], q = rows[i][1];
    const V out[4] = {p, p + q, p - q, zero - q};
    for (int j = 0; j < 4; ++j) {
      if constexpr (std::is_same_v<V, float>) dm[(i * 4 + j) * xi_stride] = out[j];
      else out[j].store_unaligned(dm + (i * 4 + j) * xi_stride);
    }
  }
}

// One tile's 2x2 output gradient for output channels [o, cout) of one image (gy at the tile's
// corner, channels `plane` floats apart), zero where an odd side has no outputs.
void transform_tile_grad(const float* gy, std::int64_t plane, std::int64_t width, bool right, bool down,
                         std::int64_t cout, const Index& channels, float* dm, std::int64_t xi_stride) {
  std::int64_t o = 0;
  for (; o + lanes <= cout; o += lanes) {
    const float* at = gy + o * plane;
    const Vec zero(0.0f);
    transform_output_grad<Vec>(gather(at, channels), right ? gather(at + 1, channels) : zero,
                               down ? gather(at + width, channels) : zero,
                               right && down ? gather(at + width + 1, channels) : zero, dm + o, xi_stride);
  }
  for (; o < cout; ++o) {
    const float* at = gy + o * plane;
    transform_output_grad<float>(at[0], right ? at[1] : 0.0f, down ? at[width] : 0.0f,
                                 right && down ? at[width + 1] : 0.0f, dm + o, xi_stride);
  }
}

// dmt [16][layout.ld][ldt] = A dY A^T for every tile of images [first, first + images) of gy,
// a row per column of layout.tiles(images), output channels along the row (small_gemm's right
// operand wants them contiguous, so the transform vectorises over channels, not tiles). The rows
// of the tiles a chunk repeats are zero: every tile counts once in the sum over tiles.
void transform_output_grads(const float* gy, const ConvGeometry& g, const Layout& l, std::int64_t first,
                            std::int64_t images, float* dmt, std::int64_t ldt) {
  const std::int64_t cout = g.out_channels, plane = g.out_plane(), xi_stride = l.ld * ldt;
  alignas(64) std::int32_t offsets[lanes];
  for (std::int64_t i = 0; i < lanes; ++i) offsets[i] = static_cast<std::int32_t>(i * plane);
  const Index channels = Index::load_aligned(offsets);
  const std::int64_t tiles = images * l.tiles_per_image;
  for (std::int64_t q = 0; q < l.tiles(images).cols; ++q) {
    float* row = dmt + q * ldt;
    if (q >= tiles) {
      for (std::int64_t xi = 0; xi < 16; ++xi) std::fill(row + xi * xi_stride, row + xi * xi_stride + cout, 0.0f);
      continue;
    }
    const std::int64_t b = q / l.tiles_per_image, t = q % l.tiles_per_image;
    const std::int64_t ty = t / l.sides.tiles_w, tx = t % l.sides.tiles_w;
    const float* corner = gy + (first + b) * cout * plane + 2 * ty * g.width + 2 * tx;
    transform_tile_grad(corner, plane, g.width, 2 * tx + 1 < g.width, 2 * ty + 1 < g.height, cout, channels, row,
                        xi_stride);
  }
}

// du [16][Cin][Cout] += sum over the tiles of images [first, first + images) of
// (B^T d B)[xi] (A dY A^T)[xi]^T: 16 products over the tiles, one per point of the 4x4 tile.
void accumulate_chunk(const float* x, const float* gy, const ConvGeometry& g, const Layout& l, std::int64_t first,
                      std::int64_t images, float* du, bool bf16) {
  const std::int64_t cin = g.in_channels, cout = g.out_channels, ldt = padded_row_stride(cout);
  float* v = thread_scratch(0, 16 * cin * l.ld);
  float* dmt = thread_scratch(1, 16 * l.ld * ldt);
  transform_inputs(x, g, l, first, images, v);
  transform_output_grads(gy, g, l, first, images, dmt, ldt);
  for (std::int64_t xi = 0; xi < 16; ++xi)
    if (bf16)
      gemm_bf16(false, false, cin, cout, l.tiles(images).cols, v + xi * cin * l.ld, l.ld, dmt + xi * l.ld * ldt, ldt,
                1.0f, du + xi * cin * cout, cout);
    else
      small_gemm(cin, cout, l.tiles(images).cols, {v + xi * cin * l.ld, l.ld, 1}, {dmt + xi * l.ld * ldt, ldt},
                 du + xi * cin * cout, cout, true);
}

// gw [Cout, Cin, 3, 3] = G^T dU G for every filter (the forward's U = G f G^T, differentiated),
// G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1].
void transform_filter_grads(const float* du, std::int64_t cin, std::int64_t cout, float* gw) {
  for (std::int64_t o = 0; o < cout; ++o)
    for (std::int64_t c = 0; c < cin; ++c) {
      float t[3][4];  // G^T dU
      for (int j = 0; j < 4; ++j) {
        const auto m = [&](int i) { return du[((i * 4 + j) * cin + c) * cout + o]; };
        t[0][j] = m(0) + 0.5f * (m(1) + m(2));
        t[1][j] = 0.5f * (m(1) - m(2));
        t[2][j] = 0.5f * (m(1) + m(2)) + m(3);
      }
      float* f = gw + (o * cin + c) * 9;
      for (int r = 0; r < 3; ++r) {
        f[r * 3 + 0] = t[r][0] + 0.5f * (t[r][1] + t[r][2]);
        f[r * 3 + 1] = 0.5f * (t[r][1] - t[r][2]);
        f[r * 3 + 2] = 0.5f * (t[r][1] + t[r][2]) + t[r][3];
      }
    }
}

}  // namespace

void winograd_conv2d_weight_grad(const float* x, const float* gy, float* gw, const ConvGeometry& g,
                                 bool bf16) {
  const Layout layout(g);
  const std::size_t n = static_cast<std::size_t>(16 * g.in_channels * g.out_channels);
  // Each task sums its chunks into its own partial; they are added in task order afterwards so
  // that the result does not depend on which thread finished first.
  struct Partial {
    std::int64_t begin;
    std::vector<float> du;
  };
  std::vector<Partial> partials;
  std::mutex mutex;
  parallel_for(layout.chunks(g), 1, [&](std::int64_t begin, std::int64_t end) {
    Partial part{begin, std::vector<float>(n, 0.0f)};
    for (std::int64_t c = begin; c < end; ++c) {
      const std::int64_t first = c * layout.images_per_chunk;
      accumulate_chunk(x, gy, g, layout, first, std::min(layout.images_per_chunk, g.batch - first), part.du.data(), bf16);
    }
    std::lock_guard<std::mutex> lock(mutex);
    partials.push_back(std::move(part));
  });
  if (partials.empty()) {  // an empty batch: no tiles, a zero gradient
    std::fill(gw, gw + g.out_channels * g.in_channels * 9, 0.0f);
    return;
  }
  std::sort(partials.begin(), partials.end(), [](const Partial& l, const Partial& r) { return l.begin < r.begin; });
  std::vector<float>& du = partials.front().du;
  for (std::size_t p = 1; p < partials.size(); ++p)
    for (std::size_t i = 0; i < n; ++i) du[i] += partials[p].du[i];
  transform_filter_grads(du.data(), g.in_channels, g.out_channels, gw);
}

}  // namespace tg::kernels
