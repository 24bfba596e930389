#include "tapegrad/autograd/kernels/conv2d_winograd.hpp"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "tapegrad/autograd/kernels/copy_rows.hpp"
#include "tapegrad/autograd/kernels/gemm_bf16.hpp"
#include "tapegrad/autograd/kernels/small_gemm.hpp"
#include "tapegrad/autograd/kernels/winograd_tiles.hpp"
#include "tapegrad/autograd/threads.hpp"

namespace tg::kernels {

namespace {

using namespace winograd;

#if !defined(__AVX512F__) && !defined(__AVX__)
void scatter(const Vec& v, float* base, const Index& index) { v.scatter(base, index); }
#endif

// U [16][Cout][Cin] = G f G^T for every filter f, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], one
// vector of input channels at a time (the 9 taps of consecutive filters are 9 floats apart).
template <class V, class Load>
void transform_filter_vector(Load tap, float* u, std::int64_t xi_stride) {
  V t[4][3];
  for (int j = 0; j < 3; ++j) {
    const V f0 = tap(j), f1 = tap(3 + j), f2 = tap(6 + j);
    t[0][j] = f0;
    t[1][j] = V(0.5f) * (f0 + f1 + f2);
    t[2][j] = V(0.5f) * (f0 - f1 + f2);
    t[3][j] = f2;
  }
  for (int i = 0; i < 4; ++i) {
    const V row[4] = {t[i][0], V(0.5f) * (t[i][0] + t[i][1] + t[i][2]),
                      V(0.5f) * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
    for (int j = 0; j < 4; ++j) {
      if constexpr (std::is_same_v<V, float>) u[(i * 4 + j) * xi_stride] = row[j];
      else row[j].store_unaligned(u + (i * 4 + j) * xi_stride);
    }
  }
}

std::vector<float> transform_filters(const float* w, std::int64_t cout, std::int64_t cin) {
  std::vector<float> u(static_cast<std::size_t>(16 * cout * cin));
  alignas(64) std::int32_t nine[lanes];
  for (std::int64_t l = 0; l < lanes; ++l) nine[l] = static_cast<std::int32_t>(9 * l);
  const Index taps = Index::load_aligned(nine);
  const std::int64_t xi_stride = cout * cin;
  for (std::int64_t o = 0; o < cout; ++o) {
    std::int64_t c = 0;
    for (; c + lanes <= cin; c += lanes) {
      const float* f = w + (o * cin + c) * 9;
      transform_filter_vector<Vec>([&](int k) { return gather(f + k, taps); }, u.data() + o * cin + c, xi_stride);
    }
    for (; c < cin; ++c) {
      const float* f = w + (o * cin + c) * 9;
      transform_filter_vector<float>([&](int k) { return f[k]; }, u.data() + o * cin + c, xi_stride);
    }
  }
  return u;
}

// Rows [a, b] of every tile of the group (one tile per lane) written to y at the corners + row.
void store_tile_row(const Vec& a, const Vec& b, float* y, const std::int32_t* corners,
                    const Index& corner_vector) {
#if defined(__AVX512F__)
  // Two adjacent floats per tile: interleave a and b, then 64-bit stores beat two scatters.
  (void)corner_vector;
  const __m512 lo = _mm512_unpacklo_ps(a, b), hi = _mm512_unpackhi_ps(a, b);  // tiles 4k+0,1 | 4k+2,3
  // The block index of an extract must be a constant, also at -O1 (the sanitizer build).
  const __m128 blocks[2][4] = {
      {_mm512_castps512_ps128(lo), _mm512_extractf32x4_ps(lo, 1), _mm512_extractf32x4_ps(lo, 2),
       _mm512_extractf32x4_ps(lo, 3)},
      {_mm512_castps512_ps128(hi), _mm512_extractf32x4_ps(hi, 1), _mm512_extractf32x4_ps(hi, 2),
       _mm512_extractf32x4_ps(hi, 3)}};
  for (int k = 0; k < 4; ++k) {
    _mm_storel_pi(reinterpret_cast<__m64*>(y + corners[4 * k]), blocks[0][k]);
    _mm_storeh_pi(reinterpret_cast<__m64*>(y + corners[4 * k + 1]), blocks[0][k]);
    _mm_storel_pi(reinterpret_cast<__m64*>(y + corners[4 * k + 2]), blocks[1][k]);
    _mm_storeh_pi(reinterpret_cast<__m64*>(y + corners[4 * k + 3]), blocks[1][k]);
  }
#elif defined(__AVX__)
  // The same with two blocks per register: AVX2 has no scatter, and xsimd's stores the 16
  // floats one by one.
  (void)corner_vector;
  const __m256 lo = _mm256_unpacklo_ps(a, b), hi = _mm256_unpackhi_ps(a, b);  // tiles 4k+0,1 | 4k+2,3
  const __m128 blocks[2][2] = {{_mm256_castps256_ps128(lo), _mm256_extractf128_ps(lo, 1)},
                               {_mm256_castps256_ps128(hi), _mm256_extractf128_ps(hi, 1)}};
  for (int k = 0; k < 2; ++k) {
    _mm_storel_pi(reinterpret_cast<__m64*>(y + corners[4 * k]), blocks[0][k]);
    _mm_storeh_pi(reinterpret_cast<__m64*>(y + corners[4 * k + 1]), blocks[0][k]);
    _mm_storel_pi(reinterpret_cast<__m64*>(y + corners[4 * k + 2]), blocks[1][k]);
    _mm_storeh_pi(reinterpret_cast<__m64*>(y + corners[4 * k + 3]), blocks[1][k]);
  }
#else
  (void)corners;
  scatter(a, y, corner_vector);
  scatter(b, y + 1, corner_vector);
#endif
}

// One vector of tiles' 2x2 outputs from the products m[xi * xi_stride ..+lanes): A^T m A +
// bias, A^T = [1 1 1 0; 0 1 -1 -1], written to y at the tiles' corners.
void transform_output(const float* m, std::int64_t xi_stride, float bias, const std::int32_t* corners,
                      const Index& corner_vector, std::int64_t width, float* y) {
  Vec t[2][4];
  for (int j = 0; j < 4; ++j) {
    const Vec m0 = Vec::load_unaligned(m + j * xi_stride), m1 = Vec::load_unaligned(m + (4 + j) * xi_stride);
    const Vec m2 = Vec::load_unaligned(m + (8 + j) * xi_stride), m3 = Vec::load_unaligned(m + (12 + j) * xi_stride);
    t[0][j] = m0 + m1 + m2;
    t[1][j] = m1 - m2 - m3;
  }
  const Vec b(bias);
  store_tile_row(t[0][0] + t[0][1] + t[0][2] + b, t[0][1] - t[0][2] - t[0][3] + b, y, corners, corner_vector);
  store_tile_row(t[1][0] + t[1][1] + t[1][2] + b, t[1][1] - t[1][2] - t[1][3] + b, y + width, corners,
                 corner_vector);
}

// Per task: the transformed input and the products, reused chunk after chunk.
class Chunker {
 public:
  Chunker(const ConvGeometry& g, const Layout& l, const std::vector<PackedBf16A>* u_bf16)
      : g_(g), l_(l), u_bf16_(u_bf16) {
    v_ = thread_scratch(0, 16 * g.in_channels * l.ld);
    m_ = thread_scratch(1, 16 * g.out_channels * l.ld);
    even_out_ = l.sides.even(g) ? nullptr : thread_scratch(2, l.images_per_chunk * g.out_channels * l.out_plane);
  }

  void run(const float* x, const float* u, const float* bias, float* y, std::int64_t first,
           std::int64_t images) {
    const std::int64_t cin = g_.in_channels, cout = g_.out_channels, plane = g_.out_plane();
    const ChunkTiles& tiles = l_.tiles(images);
    // V is [16][cin][ld] and M [16][cout][ld], a column per tile.
    transform_inputs(x, g_, l_, first, images, v_);
    for (std::int64_t xi = 0; xi < 16; ++xi)
      if (u_bf16_)
        gemm_bf16((*u_bf16_)[std::size_t(xi)], false, tiles.cols, v_ + xi * cin * l_.ld, l_.ld, 0.0f,
                  m_ + xi * cout * l_.ld, l_.ld);
      else
        small_gemm(cout, tiles.cols, cin, {u + xi * cout * cin, cin, 1}, {v_ + xi * cin * l_.ld, l_.ld},
                   m_ + xi * cout * l_.ld, l_.ld, false);
    // Even sides: the tiles' outputs go to y directly (an image's planes are then l_.out_plane apart).
    float* out = even_out_ ? even_out_ : y + first * cout * plane;
    for (std::int64_t o = 0; o < cout; ++o)
      for (std::int64_t grp = 0; grp < tiles.groups(); ++grp)
        transform_output(m_ + o * l_.ld + grp * lanes, cout * l_.ld, bias ? bias[o] : 0.0f,
                         tiles.out_corners.data() + grp * lanes, tiles.out_offsets[grp], l_.sides.even_w,
                         out + o * l_.out_plane);
    if (even_out_)
      for (std::int64_t p = 0; p < images * cout; ++p)
        copy_rows(even_out_ + p * l_.out_plane, l_.sides.even_w, y + (first * cout + p) * plane, g_.width, g_.height,
                  g_.width);
  }

 private:
  const ConvGeometry& g_;
  const Layout& l_;
  const std::vector<PackedBf16A>* u_bf16_;  // set under autocast: U[xi] packed for gemm_bf16
  float *v_, *m_, *even_out_;
};

}  // namespace

bool winograd_applies(const ConvGeometry& g) {
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 1 &&
         g.pad_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 && g.groups == 1 &&
         g.height >= 2 && g.width >= 2 &&
         g.in_channels >= 32 && g.out_channels >= 32;
}

void winograd_conv2d_forward(const float* x, const float* w, const float* bias, float* y,
                             const ConvGeometry& g, bool bf16) {
  const Layout layout(g);
  const std::vector<float> u = transform_filters(w, g.out_channels, g.in_channels);
  std::vector<PackedBf16A> u_bf16;
  for (std::int64_t xi = 0; xi < 16 && bf16; ++xi)
    u_bf16.emplace_back(false, g.out_channels, g.in_channels, u.data() + xi * g.out_channels * g.in_channels,
                        g.in_channels);
  const std::int64_t chunks = layout.chunks(g);
  parallel_for(chunks, 1, [&](std::int64_t begin, std::int64_t end) {
    Chunker chunker(g, layout, bf16 ? &u_bf16 : nullptr);
    for (std::int64_t c = begin; c < end; ++c) {
      const std::int64_t first = c * layout.images_per_chunk;
      chunker.run(x, u.data(), bias, y, first, std::min(layout.images_per_chunk, g.batch - first));
    }
  });
}

}  // namespace tg::kernels
