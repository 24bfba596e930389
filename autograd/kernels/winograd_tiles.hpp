#pragma once
// What Winograd F(2x2, 3x3)'s forward pass (conv2d_winograd.cpp) and its weight gradient
// (conv2d_winograd_weight_grad.cpp) share: how an image's 4x4 input tiles are laid out in
// vectors of tiles, chunked over images, and transformed (V = B^T d B).
#include <cstdint>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "tapegrad/autograd/kernels/im2col.hpp"

// For the files that include this one (the Winograd kernels, which use AVX-512 intrinsics):
// GCC 12's AVX-512 intrinsics pass an undefined vector through masks that discard all of it, and
// -Wuninitialized reports that from inside its own headers (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace tg::kernels::winograd {

using Vec = xsimd::batch<float>;
using Index = xsimd::batch<std::int32_t, Vec::arch_type>;
constexpr std::int64_t lanes = static_cast<std::int64_t>(Vec::size);

// An odd side is computed as if it had one more row or column of zeros: its last tiles cover
// outputs that do not exist.
struct Sides {
  std::int64_t tiles_h, tiles_w, padded_w, even_h, even_w;
  explicit Sides(const ConvGeometry& g)
      : tiles_h((g.height + 1) / 2), tiles_w((g.width + 1) / 2), padded_w(2 * tiles_w + 2),
        even_h(2 * tiles_h), even_w(2 * tiles_w) {}
  bool even(const ConvGeometry& g) const { return even_h == g.height && even_w == g.width; }
};

/// The tiles of a chunk of images, in groups of one vector (the last group repeats the last
/// tile): column j of the chunk's products is tile j % tiles_per_image of image j / tiles_per_image.
/// Corners are offsets in one input channel's padded planes [images][padded_plane] and in the
/// chunk's even-sided output planes [images][Cout][out_plane].
struct ChunkTiles {
  std::int64_t cols = 0;  // the chunk's tiles rounded up to whole vectors
  std::vector<Index> in_offsets, out_offsets;  // per group
  std::vector<std::int32_t> in_corners, out_corners;  // the same as plain integers, lanes per group
  std::int64_t groups() const { return cols / lanes; }
};

/// How a convolution's batch is cut into chunks of images, and where a chunk's transformed
/// tiles live: [16][channels][ld], ld >= the chunk's columns.
struct Layout {
  Sides sides;
  std::int64_t tiles_per_image, images_per_chunk, ld, padded_plane, out_plane;
  ChunkTiles full, last;  // a whole chunk, and the batch's last one

  explicit Layout(const ConvGeometry& g);
  std::int64_t chunks(const ConvGeometry& g) const { return (g.batch + images_per_chunk - 1) / images_per_chunk; }
  const ChunkTiles& tiles(std::int64_t images) const { return images == images_per_chunk ? full : last; }
};

/// xsimd 8 gathers element by element; AVX-512 and AVX2 have instructions for it.
inline Vec gather(const float* base, const Index& index) {
#if defined(__AVX512F__)
  return _mm512_i32gather_ps(index, base, 4);
#elif defined(__AVX2__)
  return _mm256_i32gather_ps(base, index, 4);
#else
  return Vec::gather(base, index);
#endif
}

/// A buffer of the calling thread, kept between calls: fresh buffers of this size (about 1 MB)
/// would come from mmap and fault in page by page on every call (measured: 8% of the forward).
/// `slot` tells apart the buffers one caller needs at the same time.
float* thread_scratch(int slot, std::int64_t size);

/// v [16][Cin][layout.ld] = B^T d B for every tile of images [first, first + images) of x, one
/// column per tile (layout.tiles(images)).
void transform_inputs(const float* x, const ConvGeometry& g, const Layout& layout, std::int64_t first,
                      std::int64_t images, float* v);

}  // namespace tg::kernels::winograd
