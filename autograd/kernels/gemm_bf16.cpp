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

std::uint32_t pair(float lo, float hi) {
  return std::uint32_t(float_to_bf16(lo)) | (std::uint32_t(float_to_bf16(hi)) << 16);
}

// op(A) [m, k] -> row panels of mr rows: ap[(panel * kp + p) * mr + r], zero-padded.
void pack_a(bool trans, std::int64_t m, std::int64_t k, const float* a, std::int64_t lda,
            std::uint32_t* ap) {
  const std::int64_t kp = (k + 1) / 2;
  for (std::int64_t r0 = 0; r0 < m; r0 += mr) {
    std::uint32_t* panel = ap + (r0 / mr) * kp * mr;
    for (std::int64_t r = 0; r < mr; ++r) {
      const std::int64_t i = r0 + r;
      for (std::int64_t p = 0; p < kp; ++p) {
        const std::int64_t j = 2 * p;
        float lo = 0.0f, hi = 0.0f;
        if (i < m) {
          lo = trans ? a[j * lda + i] : a[i * lda + j];
          if (j + 1 < k) hi = trans ? a[(j + 1) * lda + i] : a[i * lda + j + 1];
        }
        panel[p * mr + r] = pair(lo, hi);
      }
    }
  }
}

// Columns [j0, j0 + cols) of op(B) [k, n] -> one panel: bp[p * nr + j], zero-padded.
void pack_b(bool trans, std::int64_t k, const float* b, std::int64_t ldb, std::int64_t j0,
            std::int64_t cols, std::uint32_t* bp) {
  const std::int64_t kp = (k + 1) / 2;
  if (trans) {  // b(i, j) = b[j * ldb + i]: a pair is two adjacent floats
    for (std::int64_t j = 0; j < nr; ++j) {
      const float* col = b + (j0 + j) * ldb;
      for (std::int64_t p = 0; p < kp; ++p)
        bp[p * nr + j] = j < cols ? pair(col[2 * p], 2 * p + 1 < k ? col[2 * p + 1] : 0.0f) : 0u;
    }
    return;
  }
  for (std::int64_t p = 0; p < kp; ++p) {
    const float* row0 = b + 2 * p * ldb + j0;
    const float* row1 = 2 * p + 1 < k ? row0 + ldb : nullptr;
    std::uint32_t* out = bp + p * nr;
    if (row1)
      for (std::int64_t j = 0; j < cols; ++j) out[j] = pair(row0[j], row1[j]);
    else
      for (std::int64_t j = 0; j < cols; ++j) out[j] = pair(row0[j], 0.0f);
    for (std::int64_t j = cols; j < nr; ++j) out[j] = 0u;
  }
}

#if TG_BF16_KERNELS
// C[rows, cols] (+)= A panel [rows, 2 kp] @ B panel [2 kp, cols], cols <= nr.
template <int Rows>
TG_BF16_TARGET void micro_kernel(std::int64_t kp, const std::uint32_t* ap, const std::uint32_t* bp,
                                 float* c, std::int64_t ldc, std::int64_t cols, bool accumulate) {
  __m512 acc[Rows][3];
  for (int r = 0; r < Rows; ++r)
    for (int x = 0; x < 3; ++x) acc[r][x] = _mm512_setzero_ps();
  for (std::int64_t p = 0; p < kp; ++p) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + p * nr);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + p * nr + 16);
    const __m512bh b2 = (__m512bh)_mm512_loadu_si512(bp + p * nr + 32);
    for (int r = 0; r < Rows; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(ap[p * mr + r]));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], av, b2);
    }
  }
  for (int x = 0; x < 3; ++x) {
    const std::int64_t left = cols - 16 * x;
    if (left <= 0) break;
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
constexpr MicroKernel micro_kernels[mr + 1] = {nullptr,          micro_kernel<1>, micro_kernel<2>,
                                               micro_kernel<3>, micro_kernel<4>, micro_kernel<5>,
                                               micro_kernel<6>, micro_kernel<7>, micro_kernel<8>};
#endif

void gemm_bf16_impl(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                    const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
                    float* c, std::int64_t ldc, bool parallel) {
  if (m == 0 || n == 0) return;
  if (beta != 1.0f)
    for (std::int64_t r = 0; r < m; ++r)
      for (std::int64_t j = 0; j < n; ++j) c[r * ldc + j] = beta == 0.0f ? 0.0f : beta * c[r * ldc + j];
  if (k == 0) return;
#if TG_BF16_KERNELS
  const std::int64_t kp = (k + 1) / 2;
  const std::int64_t m_panels = (m + mr - 1) / mr, n_panels = (n + nr - 1) / nr;
  std::vector<std::uint32_t> ap(static_cast<std::size_t>(m_panels * kp * mr));
  pack_a(trans_a, m, k, a, lda, ap.data());
  const bool accumulate0 = beta != 0.0f;
  auto panels = [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::uint32_t> bp(static_cast<std::size_t>(kp * nr));
    for (std::int64_t np = begin; np < end; ++np) {
      const std::int64_t j0 = np * nr, cols = std::min(nr, n - j0);
      pack_b(trans_b, k, b, ldb, j0, cols, bp.data());
      for (std::int64_t p0 = 0; p0 < kp; p0 += kc) {
        const std::int64_t pairs = std::min(kc, kp - p0);
        for (std::int64_t mp = 0; mp < m_panels; ++mp) {
          const std::int64_t rows = std::min(mr, m - mp * mr);
          micro_kernels[rows](pairs, ap.data() + (mp * kp + p0) * mr, bp.data() + p0 * nr,
                              c + mp * mr * ldc + j0, ldc, cols, accumulate0 || p0 > 0);
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
  (void)trans_a, (void)trans_b, (void)a, (void)lda, (void)b, (void)ldb, (void)parallel;
  TG_ASSERT(false, "gemm_bf16: this build has no AVX512-BF16 kernels");
#endif
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
    return {false, std::string("fp32: this CPU has no AVX512-BF16") +
                       (mode == 1 ? " (TAPEGRAD_AUTOCAST_BF16=on cannot apply)" : "")};
  if (mode == 1) return {true, "bf16: forced by TAPEGRAD_AUTOCAST_BF16=on (not measured)"};
  if (mode == -1) return {false, "fp32: forced by TAPEGRAD_AUTOCAST_BF16=off"};
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
  return {faster, (faster ? "bf16: " : "fp32: ") + out.str() + (faster ? "" : ", not faster")};
}

std::once_flag decided;

}  // namespace

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

const Bf16Decision& bf16_decision() {
  static Bf16Decision decision;
  std::call_once(decided, [] { decision = decide(); });
  return decision;
}

}  // namespace tg::kernels
