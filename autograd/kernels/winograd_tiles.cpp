#include "tapegrad/autograd/kernels/winograd_tiles.hpp"

#include <algorithm>
#include <array>

#include "tapegrad/autograd/kernels/copy_rows.hpp"
#include "tapegrad/autograd/kernels/small_gemm.hpp"

namespace tg::kernels::winograd {

namespace {

// Tiles of a chunk of images (the columns of its 16 products): wide enough for small_gemm's
// panels, small enough that the transformed tiles and the products (16 x channels x tiles
// floats each) stay in L2.
constexpr std::int64_t target_tiles = 128;

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
#elif defined(__AVX__)
  // The same with two 128-bit blocks per register: on Zen 3 (AVX2) a conv's forward + backward
  // took 0.83-0.95x the time of the gathers' (measured).
  (void)corner_vector;
  for (int i = 0; i < 4; ++i) {
    const float* row = padded + i * pw;
    __m256 a[4];  // a[k], block b: row i of tile 4b + k
    for (int k = 0; k < 4; ++k)
      a[k] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(row + corners[k])),
                                  _mm_loadu_ps(row + corners[4 + k]), 1);
    const __m256 t0 = _mm256_unpacklo_ps(a[0], a[1]), t1 = _mm256_unpackhi_ps(a[0], a[1]);
    const __m256 t2 = _mm256_unpacklo_ps(a[2], a[3]), t3 = _mm256_unpackhi_ps(a[2], a[3]);
    d[i][0] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    d[i][1] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    d[i][2] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    d[i][3] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
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

ChunkTiles chunk_tiles(const Layout& l, std::int64_t images, std::int64_t cout) {
  ChunkTiles c;
  const std::int64_t tiles = images * l.tiles_per_image;
  c.cols = (tiles + lanes - 1) / lanes * lanes;
  for (std::int64_t grp = 0; grp < c.groups(); ++grp) {
    alignas(64) std::int32_t in[lanes], out[lanes];
    for (std::int64_t k = 0; k < lanes; ++k) {
      const std::int64_t q = std::min(grp * lanes + k, tiles - 1);
      const std::int64_t b = q / l.tiles_per_image, t = q % l.tiles_per_image;
      const std::int64_t ty = t / l.sides.tiles_w, tx = t % l.sides.tiles_w;
      in[k] = static_cast<std::int32_t>(b * l.padded_plane + 2 * ty * l.sides.padded_w + 2 * tx);
      out[k] = static_cast<std::int32_t>(b * cout * l.out_plane + 2 * ty * l.sides.even_w + 2 * tx);
    }
    c.in_offsets.push_back(Index::load_aligned(in));
    c.in_corners.insert(c.in_corners.end(), in, in + lanes);
    c.out_corners.insert(c.out_corners.end(), out, out + lanes);
    c.out_offsets.push_back(Index::load_aligned(out));
  }
  return c;
}

}  // namespace

// Tiles are packed across images, so that a 14 x 14 map's 49 tiles per image do not take 64
// columns (4 vectors) of every product.
Layout::Layout(const ConvGeometry& g)
    : sides(g),
      tiles_per_image(sides.tiles_h * sides.tiles_w),
      images_per_chunk(std::max<std::int64_t>(1, std::min(target_tiles / tiles_per_image, g.batch))),
      ld(padded_row_stride((images_per_chunk * tiles_per_image + lanes - 1) / lanes * lanes)),
      padded_plane((sides.even_h + 2) * sides.padded_w),
      out_plane(sides.even_h * sides.even_w),
      full(chunk_tiles(*this, images_per_chunk, g.out_channels)),
      last(chunk_tiles(*this, g.batch - (chunks(g) - 1) * images_per_chunk, g.out_channels)) {}

float* thread_scratch(int slot, std::int64_t size) {
  thread_local std::array<std::vector<float>, 4> buffers;
  std::vector<float>& buffer = buffers.at(static_cast<std::size_t>(slot));
  if (buffer.size() < static_cast<std::size_t>(size)) buffer.resize(static_cast<std::size_t>(size));
  return buffer.data();
}

void transform_inputs(const float* x, const ConvGeometry& g, const Layout& l, std::int64_t first,
                      std::int64_t images, float* v) {
  const std::int64_t cin = g.in_channels, pw = l.sides.padded_w, plane = l.padded_plane;
  const ChunkTiles& tiles = l.tiles(images);
  // A block of channels at a time, the chunk's images are copied into the interiors of
  // zero-padded planes (by one on every side, and to even sides; the borders are zeroed once, as
  // the copies never write there), then transformed. The transform's loads straddle the copy's
  // stores, and straight after them they wait for the stores to retire (measured: the transform
  // took 2.3x as long with a plane copied and transformed at once); a block of about 16 KB stays
  // in L1.
  const std::int64_t block = std::max<std::int64_t>(1, 4096 / (images * plane));  // channels
  float* padded = thread_scratch(3, block * images * plane);
  std::fill(padded, padded + block * images * plane, 0.0f);
  for (std::int64_t c0 = 0; c0 < cin; c0 += block) {
    const std::int64_t c1 = std::min(cin, c0 + block);
    for (std::int64_t c = c0; c < c1; ++c)
      for (std::int64_t b = 0; b < images; ++b)
        copy_rows(x + ((first + b) * cin + c) * g.in_plane(), g.width, padded + ((c - c0) * images + b) * plane + pw + 1,
                  pw, g.height, g.width);
    for (std::int64_t c = c0; c < c1; ++c)
      for (std::int64_t grp = 0; grp < tiles.groups(); ++grp)
        transform_input(padded + (c - c0) * images * plane, pw, tiles.in_corners.data() + grp * lanes,
                        tiles.in_offsets[grp], v + c * l.ld + grp * lanes, cin * l.ld);
  }
}

}  // namespace tg::kernels::winograd
