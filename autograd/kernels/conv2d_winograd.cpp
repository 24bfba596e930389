#include "autograd/kernels/conv2d_winograd.hpp"

#include <algorithm>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "autograd/kernels/small_gemm.hpp"
#include "autograd/threads.hpp"

// GCC 12's AVX-512 intrinsics pass an undefined vector through masks that discard all of it, and
// -Wuninitialized reports that from inside its own headers (a false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace tg::kernels {

namespace {

using Vec = xsimd::batch<float>;
using Index = xsimd::batch<std::int32_t, Vec::arch_type>;
constexpr std::int64_t lanes = static_cast<std::int64_t>(Vec::size);

// Tiles of a chunk of images (the columns of its 16 products): wide enough for small_gemm's
// panels, small enough that the transformed input and the products (16 x channels x tiles
// floats each) stay in L2.
constexpr std::int64_t target_tiles = 128;

// An odd side is computed as if it had one more row or column of zeros: its last tiles cover
// outputs that do not exist, so their outputs go to an even-sided plane copied out afterwards.
struct Sides {
  std::int64_t tiles_h, tiles_w, padded_w, even_h, even_w;
  explicit Sides(const ConvGeometry& g)
      : tiles_h((g.height + 1) / 2), tiles_w((g.width + 1) / 2), padded_w(2 * tiles_w + 2),
        even_h(2 * tiles_h), even_w(2 * tiles_w) {}
  bool even(const ConvGeometry& g) const { return even_h == g.height && even_w == g.width; }
};

// The tiles of an image in groups of one vector (the last group repeats the last tile), and
// where the chunked products live: [16][rows][ld] with ld >= the chunk's columns.
struct Layout {
  Sides sides;
  std::int64_t tiles_per_image, groups, cols_per_image, images_per_chunk, ld;
  std::vector<Index> in_offsets, out_offsets;  // per group: tile corners in the padded input, in y
  std::vector<std::int32_t> in_corners, out_corners;  // the same as plain integers, lanes per group

  explicit Layout(const ConvGeometry& g)
      : sides(g),
        tiles_per_image(sides.tiles_h * sides.tiles_w),
        groups((tiles_per_image + lanes - 1) / lanes),
        cols_per_image(groups * lanes),
        images_per_chunk(std::max<std::int64_t>(1, target_tiles / cols_per_image)),
        ld(padded_row_stride(images_per_chunk * cols_per_image)) {
    for (std::int64_t grp = 0; grp < groups; ++grp) {
      alignas(64) std::int32_t in[lanes], out[lanes];
      for (std::int64_t l = 0; l < lanes; ++l) {
        const std::int64_t t = std::min(grp * lanes + l, tiles_per_image - 1);
        const std::int64_t ty = t / sides.tiles_w, tx = t % sides.tiles_w;
        in[l] = static_cast<std::int32_t>(2 * ty * sides.padded_w + 2 * tx);
        out[l] = static_cast<std::int32_t>(2 * ty * sides.even_w + 2 * tx);
      }
      in_offsets.push_back(Index::load_aligned(in));
      in_corners.insert(in_corners.end(), in, in + lanes);
      out_corners.insert(out_corners.end(), out, out + lanes);
      out_offsets.push_back(Index::load_aligned(out));
    }
  }
};

// xsimd 8 gathers and scatters element by element; AVX-512 and AVX2 have instructions for it.
Vec gather(const float* base, const Index& index) {
#if defined(__AVX512F__)
  return _mm512_i32gather_ps(index, base, 4);
#elif defined(__AVX2__)
  return _mm256_i32gather_ps(base, index, 4);
#else
  return Vec::gather(base, index);
#endif
}

#if !defined(__AVX512F__)
void scatter(const Vec& v, float* base, const Index& index) {
#if defined(__AVX512F__)
  _mm512_i32scatter_ps(base, index, v, 4);
#else
  v.scatter(base, index);
#endif
}
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

// One image's channel, zero-padded by one on every side and to even sides: rows of
// sides.padded_w, sides.even_h + 2 of them.
void pad_plane(const float* x, std::int64_t h, std::int64_t w, const Sides& sides, float* padded) {
  const std::int64_t pw = sides.padded_w;
  std::fill(padded, padded + pw, 0.0f);
  std::fill(padded + (h + 1) * pw, padded + (sides.even_h + 2) * pw, 0.0f);
  for (std::int64_t i = 0; i < h; ++i) {
    float* row = padded + (i + 1) * pw;
    row[0] = 0.0f;
    std::copy(x + i * w, x + (i + 1) * w, row + 1);
    std::fill(row + w + 1, row + pw, 0.0f);
  }
}

// d[i][j]: row i, column j of every tile of the group (one tile per lane).
void load_tiles(const float* padded, std::int64_t pw, const std::int32_t* corners,
                const Index& corner_vector, Vec (&d)[4][4]) {
#if defined(__AVX512F__)
  // A tile's row is 4 adjacent floats: 16 loads of 128 bits and a 4 x 4 transpose inside each
  // 128-bit block beat 16 gathers of single floats (~2x on the transform, measured).
  (void)corner_vector;
  for (int i = 0; i < 4; ++i) {
    const float* row = padded + i * pw;
    __m512 a[4];  // a[k], block b: row i of tile 4b + k
    for (int k = 0; k < 4; ++k) {
      __m512 v = _mm512_castps128_ps512(_mm_loadu_ps(row + corners[k]));
      v = _mm512_insertf32x4(v, _mm_loadu_ps(row + corners[4 + k]), 1);
      v = _mm512_insertf32x4(v, _mm_loadu_ps(row + corners[8 + k]), 2);
      a[k] = _mm512_insertf32x4(v, _mm_loadu_ps(row + corners[12 + k]), 3);
    }
    const __m512 t0 = _mm512_unpacklo_ps(a[0], a[1]), t1 = _mm512_unpackhi_ps(a[0], a[1]);
    const __m512 t2 = _mm512_unpacklo_ps(a[2], a[3]), t3 = _mm512_unpackhi_ps(a[2], a[3]);
    d[i][0] = _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    d[i][1] = _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    d[i][2] = _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    d[i][3] = _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  }
#else
  (void)corners;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) d[i][j] = gather(padded + i * pw + j, corner_vector);
#endif
}

// v[xi * xi_stride ..+lanes) = (B^T d B)[xi] for one vector of tiles d of a padded plane,
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
void transform_input(const float* padded, std::int64_t pw, const std::int32_t* corners,
                     const Index& corner_vector, float* v, std::int64_t xi_stride) {
  Vec d[4][4];
  load_tiles(padded, pw, corners, corner_vector, d);
  Vec t[4][4];
  for (int j = 0; j < 4; ++j) {
    t[0][j] = d[0][j] - d[2][j];
    t[1][j] = d[1][j] + d[2][j];
    t[2][j] = d[2][j] - d[1][j];
    t[3][j] = d[1][j] - d[3][j];
  }
  for (int i = 0; i < 4; ++i) {
    (t[i][0] - t[i][2]).store_unaligned(v + (i * 4 + 0) * xi_stride);
    (t[i][1] + t[i][2]).store_unaligned(v + (i * 4 + 1) * xi_stride);
    (t[i][2] - t[i][1]).store_unaligned(v + (i * 4 + 2) * xi_stride);
    (t[i][1] - t[i][3]).store_unaligned(v + (i * 4 + 3) * xi_stride);
  }
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

// A thread's scratch, kept between calls: fresh buffers of this size (about 1 MB) would come
// from mmap and fault in page by page on every call (measured: 8% of the forward pass).
float* scratch(std::vector<float>& buffer, std::int64_t size) {
  if (buffer.size() < static_cast<std::size_t>(size)) buffer.resize(static_cast<std::size_t>(size));
  return buffer.data();
}

// Per task: the transformed input, the products and a padded plane, reused chunk after chunk.
class Chunker {
 public:
  Chunker(const ConvGeometry& g, const Layout& l) : g_(g), l_(l) {
    thread_local std::vector<float> v, m, padded, even_out;
    v_ = scratch(v, 16 * g.in_channels * l.ld);
    m_ = scratch(m, 16 * g.out_channels * l.ld);
    padded_ = scratch(padded, (l.sides.even_h + 2) * l.sides.padded_w);
    even_out_ = l.sides.even(g) ? nullptr : scratch(even_out, l.sides.even_h * l.sides.even_w);
  }

  void run(const float* x, const float* u, const float* bias, float* y, std::int64_t first,
           std::int64_t images) {
    const std::int64_t cin = g_.in_channels, cout = g_.out_channels;
    // V is [16][cin][ld] and M [16][cout][ld]: column b * cols_per_image + tile.
    for (std::int64_t b = 0; b < images; ++b)
      for (std::int64_t c = 0; c < cin; ++c) {
        pad_plane(x + ((first + b) * cin + c) * g_.in_plane(), g_.height, g_.width, l_.sides, padded_);
        for (std::int64_t grp = 0; grp < l_.groups; ++grp)
          transform_input(padded_, l_.sides.padded_w, l_.in_corners.data() + grp * lanes, l_.in_offsets[grp],
                          v_ + c * l_.ld + b * l_.cols_per_image + grp * lanes, cin * l_.ld);
      }
    for (std::int64_t xi = 0; xi < 16; ++xi)
      small_gemm(cout, images * l_.cols_per_image, cin, {u + xi * cout * cin, cin, 1},
                 {v_ + xi * cin * l_.ld, l_.ld}, m_ + xi * cout * l_.ld, l_.ld, false);
    for (std::int64_t b = 0; b < images; ++b)
      for (std::int64_t o = 0; o < cout; ++o) {
        float* plane = y + ((first + b) * cout + o) * g_.out_plane();
        float* tiles_out = even_out_ ? even_out_ : plane;
        for (std::int64_t grp = 0; grp < l_.groups; ++grp)
          transform_output(m_ + o * l_.ld + b * l_.cols_per_image + grp * lanes, cout * l_.ld,
                           bias ? bias[o] : 0.0f, l_.out_corners.data() + grp * lanes, l_.out_offsets[grp],
                           l_.sides.even_w, tiles_out);
        if (even_out_)
          for (std::int64_t i = 0; i < g_.height; ++i)
            std::copy(even_out_ + i * l_.sides.even_w, even_out_ + i * l_.sides.even_w + g_.width,
                      plane + i * g_.width);
      }
  }

 private:
  const ConvGeometry& g_;
  const Layout& l_;
  float *v_, *m_, *padded_, *even_out_;
};

}  // namespace

bool winograd_applies(const ConvGeometry& g) {
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 1 &&
         g.pad_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 && g.groups == 1 &&
         g.height >= 2 && g.width >= 2 &&
         g.in_channels >= 32 && g.out_channels >= 32;
}

void winograd_conv2d_forward(const float* x, const float* w, const float* bias, float* y,
                             const ConvGeometry& g) {
  const Layout layout(g);
  const std::vector<float> u = transform_filters(w, g.out_channels, g.in_channels);
  const std::int64_t chunks = (g.batch + layout.images_per_chunk - 1) / layout.images_per_chunk;
  parallel_for(chunks, 1, [&](std::int64_t begin, std::int64_t end) {
    Chunker chunker(g, layout);
    for (std::int64_t c = begin; c < end; ++c) {
      const std::int64_t first = c * layout.images_per_chunk;
      chunker.run(x, u.data(), bias, y, first, std::min(layout.images_per_chunk, g.batch - first));
    }
  });
}

}  // namespace tg::kernels
