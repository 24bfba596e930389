#include "tapegrad/autograd/kernels/gemm_bf16.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <sstream>
#include <vector>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/kernels/small_gemm.hpp"
#include "tapegrad/autograd/threads.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TG_BF16_KERNELS 1
// Compiled for AVX512-BF16 whatever -march says; run only after the CPU check.
#define TG_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
// GCC 12's masked-load and widening intrinsics start from _mm512_undefined_*() and warn that
// it "may be used uninitialized" once inlined; every lane they return is defined.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#else
#define TG_BF16_KERNELS 0
#endif

namespace tg::kernels {

namespace {

// Register tile: 8 rows x 48 columns of C, 24 of AVX-512's 32 registers, the rest for three B
// vectors and the A broadcast. Operands are packed as pairs along k (one 32-bit lane holds
// x[2p] in its low half and x[2p+1] in its high half): vdpbf16ps multiplies such pairs lane by
// lane and adds both products to an fp32 accumulator.
constexpr std::int64_t mr = 8;
constexpr std::int64_t nr = 48;
// k-pairs per block: a B panel block (128 x 48 x 4 bytes = 24 KiB) stays in L1 while every row
// panel of A passes over it.
constexpr std::int64_t kc = 128;

#if TG_BF16_KERNELS
// Transposes 16 x 16 32-bit elements: r[q] lane x <-> r[x] lane q.
TG_BF16_TARGET inline void transpose16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  // r[4i + c] now holds, in 128-bit lane l, pair 4l + c of columns 4i..4i+3.
  for (int i = 0; i < 2; ++i)
    for (int c = 0; c < 4; ++c) {
      t[8 * i + c] = _mm512_shuffle_i32x4(r[8 * i + c], r[8 * i + 4 + c], 0x88);
      t[8 * i + 4 + c] = _mm512_shuffle_i32x4(r[8 * i + c], r[8 * i + 4 + c], 0xdd);
    }
  for (int c = 0; c < 8; ++c) {
    r[c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0x88);
    r[8 + c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0xdd);
  }
}

// op(A) [m, k] -> row panels of mr rows: ap[(panel * kp + p) * mr + r], zero-padded.
TG_BF16_TARGET void pack_a_vector(bool trans, std::int64_t m, std::int64_t k, const float* a,
                                  std::int64_t lda, std::uint32_t* ap) {
  const std::int64_t kp = (k + 1) / 2;
  for (std::int64_t r0 = 0; r0 < m; r0 += mr) {
    std::uint32_t* panel = ap + (r0 / mr) * kp * mr;
    const std::int64_t rows = std::min(mr, m - r0);
    if (trans) {  // a(i, j) = a[j * lda + i]: rows 2p and 2p + 1 of the stored matrix interleaved
      const __mmask16 mask = __mmask16((1u << rows) - 1u);
      for (std::int64_t p = 0; p < kp; ++p) {
        const float* row0 = a + 2 * p * lda + r0;
        const __m512 v0 = _mm512_maskz_loadu_ps(mask, row0);
        const __m512 v1 = 2 * p + 1 < k ? _mm512_maskz_loadu_ps(mask, row0 + lda) : _mm512_setzero_ps();
        const __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v0));
        const __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v1));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(panel + p * mr),
                            _mm512_castsi512_si256(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 16))));
      }
      continue;
    }
    // a row's 32 floats -> 16 pairs; 8 rows (and 8 zero rows) transposed to 16 pair rows of 8
    for (std::int64_t pb = 0; pb < kp; pb += 16) {
      __m512i r[16];
      const std::int64_t first = 2 * pb, left = k - first;
      const __mmask16 m0 = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
      const __mmask16 m1 = left >= 32 ? __mmask16(0xffff) : left <= 16 ? __mmask16(0) : __mmask16((1u << (left - 16)) - 1u);
      for (int q = 0; q < 16; ++q) {
        if (q >= rows) {
          r[q] = _mm512_setzero_si512();
          continue;
        }
        const float* row = a + (r0 + q) * lda + first;
        r[q] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, row + 16), _mm512_maskz_loadu_ps(m0, row));
      }
      transpose16(r);
      for (int x = 0; x < 16 && pb + x < kp; ++x)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(panel + (pb + x) * mr), _mm512_castsi512_si256(r[x]));
    }
  }
}

// Columns [j0, j0 + cols) of op(B) [k, n] -> one panel bp[p * nr + j] (zero-padded), by vector
// conversions (vcvtneps2bf16: nearest even, NaN quiet; denormals become zero, which vdpbf16ps
// would do to them anyway).
// With a table, column j of op(B) is table[j] (contiguous along k) and b, ldb are unused.
TG_BF16_TARGET void pack_b_vector(bool trans, std::int64_t k, const float* b, std::int64_t ldb,
                                  std::int64_t j0, std::int64_t cols, std::uint32_t* bp,
                                  const float* const* table = nullptr) {
  const std::int64_t kp = (k + 1) / 2;
  if (!trans) {  // rows 2p and 2p + 1 interleaved: lane j = (b[2p][j], b[2p+1][j])
    for (std::int64_t p = 0; p < kp; ++p) {
      const float* row0 = b + 2 * p * ldb + j0;
      const float* row1 = row0 + ldb;
      const bool has1 = 2 * p + 1 < k;
      std::uint32_t* out = bp + p * nr;
      for (std::int64_t j = 0; j < nr; j += 16) {
        const std::int64_t left = cols - j;
        const __mmask16 mask = left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1u);
        const __m512 v0 = _mm512_maskz_loadu_ps(mask, row0 + j);
        const __m512 v1 = has1 ? _mm512_maskz_loadu_ps(mask, row1 + j) : _mm512_setzero_ps();
        const __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v0));
        const __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v1));
        _mm512_storeu_si512(out + j, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
      }
    }
    return;
  }
  // b(i, j) = b[j * ldb + i]: a column's 32 floats convert to 16 pairs in one vector
  // (vcvtne2ps2bf16 keeps their order); 16 columns' vectors are then transposed so that each
  // becomes 16 columns of one pair row.
  for (std::int64_t jb = 0; jb < nr; jb += 16) {
    for (std::int64_t pb = 0; pb < kp; pb += 16) {
      __m512i r[16];
      const std::int64_t first = 2 * pb, left = k - first;  // floats of this block per column
      const __mmask16 m0 = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
      const __mmask16 m1 = left >= 32 ? __mmask16(0xffff) : left <= 16 ? __mmask16(0) : __mmask16((1u << (left - 16)) - 1u);
      for (int q = 0; q < 16; ++q) {
        if (jb + q >= cols) {
          r[q] = _mm512_setzero_si512();
          continue;
        }
        const float* col = (table ? table[j0 + jb + q] : b + (j0 + jb + q) * ldb) + first;
        const __m512 x0 = _mm512_maskz_loadu_ps(m0, col);
        const __m512 x1 = _mm512_maskz_loadu_ps(m1, col + 16);
        r[q] = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
      }
      transpose16(r);
      // r[x] now holds pair row pb + x of the 16 columns.
      for (int x = 0; x < 16; ++x) {
        const std::int64_t p = pb + x;
        if (p < kp) _mm512_storeu_si512(bp + p * nr + jb, r[x]);
      }
    }
  }
}

// C[rows, cols] (+)= A panel [rows, 2 kp] @ B panel [2 kp, cols], cols <= 16 * V <= nr.
template <int Rows, int V>
TG_BF16_TARGET void micro_kernel(std::int64_t kp, const std::uint32_t* ap, const std::uint32_t* bp,
                                 float* c, std::int64_t ldc, std::int64_t cols, bool accumulate) {
  __m512 acc[Rows][V];
  for (int r = 0; r < Rows; ++r)
    for (int x = 0; x < V; ++x) acc[r][x] = _mm512_setzero_ps();
  for (std::int64_t p = 0; p < kp; ++p) {
    __m512bh bv[V];
    for (int x = 0; x < V; ++x) bv[x] = (__m512bh)_mm512_loadu_si512(bp + p * nr + 16 * x);
    for (int r = 0; r < Rows; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(ap[p * mr + r]));
      for (int x = 0; x < V; ++x) acc[r][x] = _mm512_dpbf16_ps(acc[r][x], av, bv[x]);
    }
  }
  for (int x = 0; x < V; ++x) {
    const std::int64_t left = cols - 16 * x;
    const __mmask16 mask = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
    for (int r = 0; r < Rows; ++r) {
      float* dst = c + r * ldc + 16 * x;
      __m512 v = acc[r][x];
      if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, dst));
      _mm512_mask_storeu_ps(dst, mask, v);
    }
  }
}

using MicroKernel = void (*)(std::int64_t, const std::uint32_t*, const std::uint32_t*, float*,
                             std::int64_t, std::int64_t, bool);
template <int V>
constexpr MicroKernel kernels_v[mr + 1] = {nullptr,             micro_kernel<1, V>, micro_kernel<2, V>,
                                           micro_kernel<3, V>, micro_kernel<4, V>, micro_kernel<5, V>,
                                           micro_kernel<6, V>, micro_kernel<7, V>, micro_kernel<8, V>};
// [vectors - 1][rows]
constexpr const MicroKernel* micro_kernels[3] = {kernels_v<1>, kernels_v<2>, kernels_v<3>};

// The same with B read in place: pair row p is rows[p][0 .. cols) (already bf16 pairs).
template <int Rows, int V>
TG_BF16_TARGET void micro_kernel_rows(std::int64_t kp, const std::uint32_t* ap, const std::uint32_t* const* rows,
                                      std::int64_t j0, float* c, std::int64_t ldc, std::int64_t cols, bool accumulate) {
  __m512 acc[Rows][V];
  for (int r = 0; r < Rows; ++r)
    for (int x = 0; x < V; ++x) acc[r][x] = _mm512_setzero_ps();
  for (std::int64_t p = 0; p < kp; ++p) {
    __m512bh bv[V];
    const std::uint32_t* row = rows[p] + j0;
    for (int x = 0; x < V; ++x) bv[x] = (__m512bh)_mm512_loadu_si512(row + 16 * x);
    for (int r = 0; r < Rows; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(ap[p * mr + r]));
      for (int x = 0; x < V; ++x) acc[r][x] = _mm512_dpbf16_ps(acc[r][x], av, bv[x]);
    }
  }
  for (int x = 0; x < V; ++x) {
    const std::int64_t left = cols - 16 * x;
    const __mmask16 mask = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
    for (int r = 0; r < Rows; ++r) {
      float* dst = c + r * ldc + 16 * x;
      __m512 v = acc[r][x];
      if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, dst));
      _mm512_mask_storeu_ps(dst, mask, v);
    }
  }
}

using RowsKernel = void (*)(std::int64_t, const std::uint32_t*, const std::uint32_t* const*, std::int64_t, float*,
                            std::int64_t, std::int64_t, bool);
template <int V>
constexpr RowsKernel rows_kernels_v[mr + 1] = {
    nullptr, micro_kernel_rows<1, V>, micro_kernel_rows<2, V>, micro_kernel_rows<3, V>, micro_kernel_rows<4, V>,
    micro_kernel_rows<5, V>, micro_kernel_rows<6, V>, micro_kernel_rows<7, V>, micro_kernel_rows<8, V>};
constexpr const RowsKernel* rows_kernels[3] = {rows_kernels_v<1>, rows_kernels_v<2>, rows_kernels_v<3>};

// fp32 -> bf16 bits for pairs of planes: out[i] = (lo[i], hi[i]) (hi may be null: zero).
TG_BF16_TARGET void interleave_bf16(const float* lo, const float* hi, std::int64_t n, std::uint32_t* out) {
  for (std::int64_t i = 0; i < n; i += 16) {
    const std::int64_t left = n - i;
    const __mmask16 mask = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
    const __m512 v0 = _mm512_maskz_loadu_ps(mask, lo + i);
    const __m512 v1 = hi ? _mm512_maskz_loadu_ps(mask, hi + i) : _mm512_setzero_ps();
    const __m512i a = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v0));
    const __m512i b = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v1));
    _mm512_mask_storeu_epi32(out + i, mask, _mm512_or_si512(a, _mm512_slli_epi32(b, 16)));
  }
}
#endif

// C = A (packed: ap, m x k) @ op(B) + beta * C.
void gemm_bf16_packed_impl(const std::uint32_t* ap, bool trans_b, std::int64_t m, std::int64_t n,
                           std::int64_t k, const float* b, std::int64_t ldb, float beta, float* c,
                           std::int64_t ldc, bool parallel, const float* const* table = nullptr) {
  if (m == 0 || n == 0) return;
  if (beta != 1.0f)
    for (std::int64_t r = 0; r < m; ++r)
      for (std::int64_t j = 0; j < n; ++j) c[r * ldc + j] = beta == 0.0f ? 0.0f : beta * c[r * ldc + j];
  if (k == 0) return;
#if TG_BF16_KERNELS
  const std::int64_t kp = (k + 1) / 2;
  const std::int64_t m_panels = (m + mr - 1) / mr, n_panels = (n + nr - 1) / nr;
  const bool accumulate0 = beta != 0.0f;
  auto panels = [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::uint32_t> bp(static_cast<std::size_t>(kp * nr));
    for (std::int64_t np = begin; np < end; ++np) {
      const std::int64_t j0 = np * nr, cols = std::min(nr, n - j0);
      pack_b_vector(trans_b || table, k, b, ldb, j0, cols, bp.data(), table);
      const MicroKernel* kernels = micro_kernels[(cols + 15) / 16 - 1];
      for (std::int64_t p0 = 0; p0 < kp; p0 += kc) {
        const std::int64_t pairs = std::min(kc, kp - p0);
        for (std::int64_t mp = 0; mp < m_panels; ++mp) {
          const std::int64_t rows = std::min(mr, m - mp * mr);
          kernels[rows](pairs, ap + (mp * kp + p0) * mr, bp.data() + p0 * nr, c + mp * mr * ldc + j0, ldc,
                        cols, accumulate0 || p0 > 0);
        }
      }
    }
  };
  if (parallel && !omp_in_parallel()) {
    // ~1 MFLOP per task, as conv's and gemm's threading grain
    const std::int64_t flop_per_panel = 2 * m * nr * k;
    parallel_for(n_panels, std::max<std::int64_t>(1, (std::int64_t(1) << 20) / flop_per_panel), panels);
  } else {
    panels(0, n_panels);
  }
#else
  (void)ap, (void)trans_b, (void)b, (void)ldb, (void)parallel, (void)table;
  TG_ASSERT(false, "gemm_bf16: this build has no AVX512-BF16 kernels");
#endif
}

std::vector<std::uint32_t> pack_a_storage(bool trans_a, std::int64_t m, std::int64_t k, const float* a,
                                          std::int64_t lda) {
  const std::int64_t kp = (k + 1) / 2, m_panels = (m + mr - 1) / mr;
  std::vector<std::uint32_t> ap(static_cast<std::size_t>(m_panels * kp * mr));
#if TG_BF16_KERNELS
  if (m > 0 && k > 0) pack_a_vector(trans_a, m, k, a, lda, ap.data());
#else
  (void)trans_a, (void)a, (void)lda;
#endif
  return ap;
}

void gemm_bf16_impl(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                    const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
                    float* c, std::int64_t ldc, bool parallel) {
  const std::vector<std::uint32_t> ap = pack_a_storage(trans_a, m, k, a, lda);
  gemm_bf16_packed_impl(ap.data(), trans_b, m, n, k, b, ldb, beta, c, ldc, parallel);
}

// Mode from TAPEGRAD_AUTOCAST_BF16: -1 off, 0 auto (measure), 1 on.
int env_mode(std::string& text) {
  const char* env = std::getenv("TAPEGRAD_AUTOCAST_BF16");
  text = env ? env : "";
  if (text == "on" || text == "1") return 1;
  if (text == "off" || text == "0") return -1;
  return 0;
}

double best_seconds(int reps, const std::function<void()>& fn) {
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

Bf16Decision decide() {
  std::string text;
  const int mode = env_mode(text);
  if (!bf16_kernels_available())
    return {false, mode != 0, std::string("fp32: this CPU has no AVX512-BF16") +
                                  (mode == 1 ? " (TAPEGRAD_AUTOCAST_BF16=on cannot apply)" : "")};
  if (mode == 1)
    return {true, true, "bf16: forced by TAPEGRAD_AUTOCAST_BF16=on (not measured); Winograd convs multiply their tiles in bf16"};
  if (mode == -1) return {false, true, "fp32: forced by TAPEGRAD_AUTOCAST_BF16=off"};
  const std::string unknown =
      text.empty() || text == "auto" ? "" : " (TAPEGRAD_AUTOCAST_BF16=" + text + " is not on, off or auto: measured)";
  // A convolution's product as the conv kernels see it: one image of a 32 -> 32 channel 3x3
  // layer on 32 x 32 (C [32, 1024] = W [32, 288] @ columns [288, 1024]), one thread, best of
  // a few alternating runs: the bf16 kernel including its packing against small_gemm (fp32).
  const std::int64_t m = 32, n = 1024, k = 288;
  std::vector<float> a(std::size_t(m * k)), b(std::size_t(k * n)), c(std::size_t(m * n));
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = float(int(i % 13) - 6) * 0.1f;
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = float(int(i % 7) - 3) * 0.1f;
  double t32 = 1e30, t16 = 1e30;
  for (int round = 0; round < 3; ++round) {
    t32 = std::min(t32, best_seconds(3, [&] {
      small_gemm(m, n, k, {a.data(), k, 1}, {b.data(), n}, c.data(), n, false);
    }));
    t16 = std::min(t16, best_seconds(3, [&] {
      gemm_bf16_impl(false, false, m, n, k, a.data(), k, b.data(), n, 0.0f, c.data(), n, false);
    }));
  }
  const double speedup = t32 / t16;
  std::ostringstream out;
  out.precision(2);
  out << std::fixed << "bf16 GEMM measured " << speedup << "x fp32 (" << t16 * 1e6 << " vs "
      << t32 * 1e6 << " us for 32x1024x288)";
  // bf16 must win clearly: the measurement is short and the conv routes around it add
  // conversions the product alone does not show.
  const bool faster = speedup > 1.1;
  return {faster, false,
          (faster ? "bf16: " : "fp32: ") + out.str() +
              (faster ? "; Winograd convs multiply their tiles in bf16" : ", not faster") + unknown};
}

std::once_flag decided;

}  // namespace

ImplicitConvBf16::ImplicitConvBf16(const float* w, const ConvGeometry& g)
    : g_(g),
      pairs_((g.in_channels + 1) / 2),
      padded_w_(g.width + 2 * g.pad_w),
      padded_plane_((g.height + 2 * g.pad_h) * padded_w_),
      wide_(g.out_h * padded_w_),
      kp_(g.kernel_h * g.kernel_w * pairs_) {
  TG_ASSERT(implicit_bf16_applies(g), "ImplicitConvBf16: geometry not supported");
  // A [Cout, K'] with K' ordered (tap, channel pair): pair p = tap * pairs + c / 2 holds the
  // weights of channels c, c + 1 at that tap, as the shifted rows of the paired input do.
  const std::int64_t taps = g.kernel_h * g.kernel_w, cin = g.in_channels, cout = g.out_channels;
  const std::int64_t m_panels = (cout + mr - 1) / mr;
  a_.assign(static_cast<std::size_t>(m_panels * kp_ * mr), 0u);
  for (std::int64_t o = 0; o < cout; ++o)
    for (std::int64_t t = 0; t < taps; ++t)
      for (std::int64_t cp = 0; cp < pairs_; ++cp) {
        const std::int64_t c0 = 2 * cp, p = t * pairs_ + cp;
        const std::uint32_t lo = float_to_bf16(w[(o * cin + c0) * taps + t]);
        const std::uint32_t hi = c0 + 1 < cin ? float_to_bf16(w[(o * cin + c0 + 1) * taps + t]) : 0u;
        a_[static_cast<std::size_t>(((o / mr) * kp_ + p) * mr + o % mr)] = lo | (hi << 16);
      }
}

ImplicitConvBf16::Scratch::Scratch(const ImplicitConvBf16& conv)
    // Zero borders stay zero between images; the last rows read up to one panel past the plane.
    : padded(static_cast<std::size_t>(conv.pairs_ * conv.padded_plane_ + nr + conv.g_.kernel_w), 0u),
      wide(static_cast<std::size_t>(conv.g_.out_channels * conv.wide_)),
      rows(static_cast<std::size_t>(conv.kp_)) {}

void ImplicitConvBf16::forward(const float* xb, float* yb, Scratch& s) const {
#if TG_BF16_KERNELS
  const ConvGeometry& g = g_;
  const std::int64_t hw = g.in_plane(), cin = g.in_channels, cout = g.out_channels;
  for (std::int64_t cp = 0; cp < pairs_; ++cp) {
    const float* lo = xb + 2 * cp * hw;
    const float* hi = 2 * cp + 1 < cin ? lo + hw : nullptr;
    for (std::int64_t r = 0; r < g.height; ++r)
      interleave_bf16(lo + r * g.width, hi ? hi + r * g.width : nullptr, g.width,
                      s.padded.data() + cp * padded_plane_ + (r + g.pad_h) * padded_w_ + g.pad_w);
  }
  for (std::int64_t t = 0; t < g.kernel_h * g.kernel_w; ++t)
    for (std::int64_t cp = 0; cp < pairs_; ++cp)
      s.rows[std::size_t(t * pairs_ + cp)] =
          s.padded.data() + cp * padded_plane_ + (t / g.kernel_w) * padded_w_ + t % g.kernel_w;
  const std::int64_t m_panels = (cout + mr - 1) / mr;
  for (std::int64_t j0 = 0; j0 < wide_; j0 += nr) {
    const std::int64_t cols = std::min(nr, wide_ - j0);
    const RowsKernel* kernels = rows_kernels[(cols + 15) / 16 - 1];
    for (std::int64_t p0 = 0; p0 < kp_; p0 += kc) {
      const std::int64_t pairs = std::min(kc, kp_ - p0);
      for (std::int64_t mp = 0; mp < m_panels; ++mp)
        kernels[std::min(mr, cout - mp * mr)](pairs, a_.data() + (mp * kp_ + p0) * mr, s.rows.data() + p0, j0,
                                              s.wide.data() + mp * mr * wide_ + j0, wide_, cols, p0 > 0);
    }
  }
  for (std::int64_t o = 0; o < cout; ++o)
    for (std::int64_t r = 0; r < g.out_h; ++r)
      std::copy(s.wide.data() + o * wide_ + r * padded_w_, s.wide.data() + o * wide_ + r * padded_w_ + g.out_w,
                yb + (o * g.out_h + r) * g.out_w);
#else
  (void)xb, (void)yb, (void)s;
  TG_ASSERT(false, "ImplicitConvBf16: this build has no AVX512-BF16 kernels");
#endif
}

bool implicit_bf16_applies(const ConvGeometry& g) {
  return g.groups == 1 && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 &&
         !g.is_pointwise();
}

bool bf16_kernels_available() {
#if TG_BF16_KERNELS
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

void gemm_bf16(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
               const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
               float* c, std::int64_t ldc) {
  TG_ASSERT(bf16_kernels_available(), "gemm_bf16: called on a CPU without AVX512-BF16");
  detail::sync_blas_threads();
  gemm_bf16_impl(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, true);
}

PackedBf16A::PackedBf16A(bool trans_a, std::int64_t m, std::int64_t k, const float* a, std::int64_t lda)
    : m_(m), k_(k), data_(pack_a_storage(trans_a, m, k, a, lda)) {
  TG_ASSERT(bf16_kernels_available(), "PackedBf16A: built on a CPU without AVX512-BF16");
}

void gemm_bf16(const PackedBf16A& a, bool trans_b, std::int64_t n, const float* b, std::int64_t ldb,
               float beta, float* c, std::int64_t ldc) {
  detail::sync_blas_threads();
  gemm_bf16_packed_impl(a.data_.data(), trans_b, a.m_, n, a.k_, b, ldb, beta, c, ldc, true);
}

void gemm_bf16_columns(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
                       const float* const* b_columns, float beta, float* c, std::int64_t ldc) {
  detail::sync_blas_threads();
  const std::vector<std::uint32_t> ap = pack_a_storage(false, m, k, a, lda);
  gemm_bf16_packed_impl(ap.data(), true, m, n, k, nullptr, 0, beta, c, ldc, true, b_columns);
}

const Bf16Decision& bf16_decision() {
  static Bf16Decision decision;
  std::call_once(decided, [] { decision = decide(); });
  return decision;
}

}  // namespace tg::kernels
