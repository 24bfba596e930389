#include "autograd/kernels/small_gemm.hpp"

#include <algorithm>
#include <vector>

#include <xsimd/xsimd.hpp>

namespace tg::kernels {

namespace {

using Vec = xsimd::batch<float>;
constexpr std::int64_t lanes = static_cast<std::int64_t>(Vec::size);

// The micro-kernel: C tile [MR, VECS * lanes] = A strip [MR, k] @ B panel [k, VECS * lanes],
// accumulated in MR * VECS registers (16 with AVX-512: enough independent FMAs to hide their
// latency, and room left for the panel's vectors).
template <int MR, int VECS>
struct Tile {
  static constexpr std::int64_t width = VECS * lanes;
  Vec acc[MR][VECS];

  void multiply(std::int64_t k, const float* const (&rows)[MR], std::int64_t k_stride,
                const float* panel, std::int64_t panel_stride) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < VECS; ++v) acc[r][v] = Vec(0.0f);
    for (std::int64_t i = 0; i < k; ++i) {
      Vec b[VECS];
#pragma GCC unroll 4
      for (int v = 0; v < VECS; ++v) b[v] = Vec::load_unaligned(panel + i * panel_stride + v * lanes);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const Vec a(rows[r][i * k_stride]);
#pragma GCC unroll 4
        for (int v = 0; v < VECS; ++v) acc[r][v] = xsimd::fma(a, b[v], acc[r][v]);
      }
    }
  }

  // Writes (or adds) the tile's first `rows` x `cols` entries into C.
  void store(float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols, bool accumulate) const {
    if (rows == MR && cols == width) {
      for (int r = 0; r < MR; ++r)
        for (int v = 0; v < VECS; ++v) {
          float* dst = c + r * ldc + v * lanes;
          (accumulate ? acc[r][v] + Vec::load_unaligned(dst) : acc[r][v]).store_unaligned(dst);
        }
      return;
    }
    alignas(64) float tile[MR * width];
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < VECS; ++v) acc[r][v].store_aligned(tile + r * width + v * lanes);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < cols; ++j)
        c[r * ldc + j] = tile[r * width + j] + (accumulate ? c[r * ldc + j] : 0.0f);
  }
};

template <int MR, int VECS>
void gemm_tiles(std::int64_t m, std::int64_t n, std::int64_t k, const LeftOperand& a,
                const RightOperand& b, float* c, std::int64_t ldc, bool accumulate) {
  using T = Tile<MR, VECS>;
  T tile;
  std::vector<float> edge_panel;  // the last, partial panel of B, zero-padded to full width
  for (std::int64_t c0 = 0; c0 < n; c0 += T::width) {
    const std::int64_t cols = std::min(T::width, n - c0);
    const float* panel = b.data + c0;
    std::int64_t panel_stride = b.row_stride;
    if (cols < T::width) {
      edge_panel.assign(static_cast<std::size_t>(k * T::width), 0.0f);
      for (std::int64_t i = 0; i < k; ++i)
        std::copy(panel + i * b.row_stride, panel + i * b.row_stride + cols, edge_panel.data() + i * T::width);
      panel = edge_panel.data();
      panel_stride = T::width;
    }
    for (std::int64_t r0 = 0; r0 < m; r0 += MR) {
      // Rows past the end of A repeat its last row: valid memory, and their results are dropped.
      const float* rows[MR];
      for (int r = 0; r < MR; ++r) rows[r] = a.data + std::min<std::int64_t>(r0 + r, m - 1) * a.row_stride;
      tile.multiply(k, rows, a.k_stride, panel, panel_stride);
      tile.store(c + r0 * ldc + c0, ldc, std::min<std::int64_t>(MR, m - r0), cols, accumulate);
    }
  }
}

}  // namespace

void small_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const LeftOperand& a,
                const RightOperand& b, float* c, std::int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  // One vector of columns and 16 rows when B is a single vector wide (a weight gradient with 16
  // output channels); otherwise 8 rows by two vectors.
  if (n <= lanes)
    gemm_tiles<16, 1>(m, n, k, a, b, c, ldc, accumulate);
  else
    gemm_tiles<8, 2>(m, n, k, a, b, c, ldc, accumulate);
}

std::int64_t padded_row_stride(std::int64_t n) {
  constexpr std::int64_t line = 16;  // floats per 64-byte cache line
  // An odd number of cache lines per row spreads the rows over all the cache's sets.
  const std::int64_t lines = (n + line - 1) / line;
  return (lines % 2 == 0 ? lines + 1 : lines) * line;
}

}  // namespace tg::kernels
