#include "tapegrad/autograd/kernels/small_gemm.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include <xsimd/xsimd.hpp>

namespace tg::kernels {

namespace {

using Vec = xsimd::batch<float>;
constexpr std::int64_t lanes = static_cast<std::int64_t>(Vec::size);
// Tile shapes by register file: AVX-512 has 32 vector registers, AVX2 and SSE 16 (see small_gemm).
constexpr bool many_registers = sizeof(Vec) == 64;
constexpr int tile_rows = many_registers ? 8 : 6;
constexpr int wide_vectors = many_registers ? 3 : 2;
constexpr int one_vector_rows = many_registers ? 16 : 12;

// The micro-kernel: C tile [MR, VECS * lanes] = A strip [MR, k] @ B panel [k, VECS * lanes],
// accumulated in MR * VECS registers (16 with AVX-512: enough independent FMAs to hide their
// latency, and room left for the panel's vectors).
template <int MR, int VECS>
struct Tile {
  static constexpr std::int64_t width = VECS * lanes;
  Vec acc[MR][VECS];

  // The panel's row i is b_rows[i][column .. column + width).
  void multiply(std::int64_t k, const float* const (&rows)[MR], std::int64_t k_stride,
                const float* const* b_rows, std::int64_t column) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < VECS; ++v) acc[r][v] = Vec(0.0f);
    for (std::int64_t i = 0; i < k; ++i) {
      Vec b[VECS];
#pragma GCC unroll 4
      for (int v = 0; v < VECS; ++v) b[v] = Vec::load_unaligned(b_rows[i] + column + v * lanes);
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

std::vector<const float*> row_table(const float* data, std::int64_t stride, std::int64_t count) {
  std::vector<const float*> rows(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) rows[i] = data + i * stride;
  return rows;
}

// C[:, begin:end) from the panels of B's columns [begin, end), T::width at a time; a last,
// partial panel is copied into a zero-padded buffer first.
template <int MR, int VECS>
void gemm_columns(std::int64_t m, std::int64_t k, const LeftOperand& a, const float* const* b_rows,
                  float* c, std::int64_t ldc, bool accumulate, std::int64_t begin, std::int64_t end) {
  using T = Tile<MR, VECS>;
  T tile;
  std::vector<float> edge;
  std::vector<const float*> edge_rows;
  for (std::int64_t c0 = begin; c0 < end; c0 += T::width) {
    const std::int64_t cols = std::min(T::width, end - c0);
    const float* const* panel_rows = b_rows;
    std::int64_t column = c0;
    if (cols < T::width) {
      edge.assign(static_cast<std::size_t>(k * T::width), 0.0f);
      for (std::int64_t i = 0; i < k; ++i) std::copy(b_rows[i] + c0, b_rows[i] + c0 + cols, edge.data() + i * T::width);
      edge_rows = row_table(edge.data(), T::width, k);
      panel_rows = edge_rows.data();
      column = 0;
    }
    for (std::int64_t r0 = 0; r0 < m; r0 += MR) {
      // Rows past the end of A repeat its last row: valid memory, and their results are dropped.
      const float* rows[MR];
      for (int r = 0; r < MR; ++r) {
        const std::int64_t row = std::min<std::int64_t>(r0 + r, m - 1);
        rows[r] = a.rows ? a.rows[row] : a.data + row * a.row_stride;
      }
      tile.multiply(k, rows, a.k_stride, panel_rows, column);
      tile.store(c + r0 * ldc + c0, ldc, std::min<std::int64_t>(MR, m - r0), cols, accumulate);
    }
  }
}

// C = A @ B over all of B's columns with MR-row tiles: panels of VECS vectors, and a last panel
// by two-vector tiles, as a one-vector tile runs latency-bound at about half speed: it takes only
// a remainder that cannot be avoided (an 8 x 8 output computed on a 10-wide grid: 80 = 48 + 32
// columns; 64 channels: 32 + 32).
template <int MR, int VECS>
void gemm_panels(std::int64_t m, std::int64_t n, std::int64_t k, const LeftOperand& a,
                 const float* const* b_rows, float* c, std::int64_t ldc, bool accumulate) {
  constexpr std::int64_t wide = VECS * lanes;
  std::int64_t bulk = n - n % wide;
  // A remainder of one vector or less joins the last wide panel as two-vector panels.
  if (n % wide != 0 && n % wide <= lanes && bulk >= wide) bulk -= wide;
  gemm_columns<MR, VECS>(m, k, a, b_rows, c, ldc, accumulate, 0, bulk);
  if (bulk == n) return;
  if (n - bulk <= lanes) gemm_columns<MR, 1>(m, k, a, b_rows, c, ldc, accumulate, bulk, n);
  else gemm_columns<MR, 2>(m, k, a, b_rows, c, ldc, accumulate, bulk, n);
}

}  // namespace

void small_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const LeftOperand& a,
                const RightOperand& b, float* c, std::int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  const std::vector<const float*> own_rows = b.rows ? std::vector<const float*>() : row_table(b.data, b.row_stride, k);
  const float* const* b_rows = b.rows ? b.rows : own_rows.data();
  // One vector of columns and 16 rows when B is a single vector wide (a weight gradient with 16
  // output channels). Otherwise 8 rows by three vectors with AVX-512 (24 accumulators: 8
  // broadcasts and 3 loads per 24 FMAs).
  // AVX2 has 16 registers, not 32: its tiles must leave room for the panel's vectors and the
  // broadcast, or the compiler spills accumulators to the stack inside the loop (8 x 2 and
  // 16 x 1 did: 3 accumulators went through memory on every step of k). There 6 x 2 and 12 x 1,
  // or 4 x 3 (also 12 accumulators) when 4 divides the rows and 6-row tiles would throw more
  // than a sixteenth of the work away: 16 or 32 channels computed as 18 or 36 rows (Zen 3, one
  // thread: 0.75-0.9x the time; for 64 rows, 3% thrown away, 4 x 3 was no faster).
  if (n <= lanes) {
    gemm_columns<one_vector_rows, 1>(m, k, a, b_rows, c, ldc, accumulate, 0, n);
    return;
  }
  const std::int64_t wasted_rows = (tile_rows - m % tile_rows) % tile_rows;
  if (!many_registers && m % 4 == 0 && wasted_rows * 16 > m)
    gemm_panels<4, 3>(m, n, k, a, b_rows, c, ldc, accumulate);
  else
    gemm_panels<tile_rows, wide_vectors>(m, n, k, a, b_rows, c, ldc, accumulate);
}

// By the width of its registers; xsimd names the 256-bit ones "avx", "avx2" or "fma3+avx2".
Isa small_gemm_isa() {
  const std::string_view arch = small_gemm_arch();
  if (sizeof(Vec) == 64) return Isa::avx512;
  if (sizeof(Vec) == 32) return arch.find("avx2") != std::string_view::npos ? Isa::avx2 : Isa::avx;
  if (sizeof(Vec) == 16 && build_isa() >= Isa::sse) return Isa::sse;
  return Isa::scalar;  // not x86 vectors (NEON) or none
}

const char* small_gemm_arch() { return Vec::arch_type::name(); }

std::int64_t padded_row_stride(std::int64_t n) {
  constexpr std::int64_t line = 16;  // floats per 64-byte cache line
  // An odd number of cache lines per row spreads the rows over all the cache's sets.
  const std::int64_t lines = (n + line - 1) / line;
  return (lines % 2 == 0 ? lines + 1 : lines) * line;
}

}  // namespace tg::kernels
