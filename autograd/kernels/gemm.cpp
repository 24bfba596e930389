#include "tapegrad/autograd/kernels/gemm.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <string_view>

#include "tapegrad/autograd/error.hpp"

#if defined(TAPEGRAD_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.h>
#endif

// Why two libraries: Debian's OpenBLAS picks its kernels by CPU model number, and a CPU newer
// than the distribution's OpenBLAS gets the SSE3 ("Prescott") ones, 3-7x slower than the CPU
// can go (measured on an AVX-512 Xeon, family 6 model 207, which OpenBLAS 0.3.21 does not
// know). oneDNN's dnnl_sgemm picks its JIT kernels from the CPU's feature bits instead. Where
// OpenBLAS knows the CPU (its kernels as wide as oneDNN's) it stays: measured with its AVX-512
// kernels it is on par with dnnl_sgemm, and faster on the smallest products.

#include "tapegrad/autograd/threads.hpp"

namespace tg::kernels {

namespace {

bool contains(std::string_view text, std::string_view word) {
  auto lower = [](char ch) { return static_cast<char>(std::tolower(static_cast<unsigned char>(ch))); };
  return std::search(text.begin(), text.end(), word.begin(), word.end(),
                     [&](char x, char y) { return lower(x) == lower(y); }) != text.end();
}

// OpenBLAS's x86 kernel families (driver/others/dynamic.c) by the widest vectors they use.
Isa openblas_isa(std::string_view core) {
  for (const char* name : {"SkylakeX", "Cooperlake", "SapphireRapids"})
    if (contains(core, name)) return Isa::avx512;
  for (const char* name : {"Haswell", "Zen", "Excavator"})
    if (contains(core, name)) return Isa::avx2;
  for (const char* name : {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller"})
    if (contains(core, name)) return Isa::avx;
#if defined(__x86_64__)
  return Isa::sse;  // Prescott, Core2, Nehalem, Atom, Barcelona...: SSE2/SSE3 kernels
#else
  return Isa::scalar;  // not an x86 instruction set at all (NEON, SVE)
#endif
}

GemmBackend openblas_backend() {
  const char* core = openblas_get_corename();
  const std::string name = core ? core : "unknown";
  return {openblas_get_config(), name, openblas_isa(name)};  // "OpenBLAS 0.3.21 ..."
}

#if defined(TAPEGRAD_HAVE_DNNL)
const char* dnnl_isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

GemmBackend onednn_backend() {
  const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  const auto has = [isa](dnnl_cpu_isa_t bits) { return (isa & bits) == bits; };
  Isa width = Isa::scalar;  // no JIT: oneDNN's reference GEMM, never chosen
#if defined(__x86_64__)
  if (has(dnnl_cpu_isa_avx512_core) || has(dnnl_cpu_isa_avx512_mic)) width = Isa::avx512;
  else if (has(dnnl_cpu_isa_avx2)) width = Isa::avx2;
  else if (has(dnnl_cpu_isa_avx)) width = Isa::avx;
  else if (has(dnnl_cpu_isa_sse41)) width = Isa::sse;
#endif
  const dnnl_version_t* v = dnnl_version();
  return {"oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
              std::to_string(v->patch) + " dnnl_sgemm",
          dnnl_isa_name(isa), width};
}
#endif

struct Selection {
  GemmLibrary library;
  GemmBackend backend;
};

// oneDNN only where its kernels are wider than OpenBLAS's: OpenBLAS then does not know the CPU.
Selection select_automatic() {
  Selection chosen{GemmLibrary::openblas, openblas_backend()};
#if defined(TAPEGRAD_HAVE_DNNL)
  GemmBackend onednn = onednn_backend();
  if (onednn.isa > chosen.backend.isa) chosen = {GemmLibrary::onednn, std::move(onednn)};
#endif
  return chosen;
}

std::atomic<GemmLibrary> forced{GemmLibrary::automatic};

const Selection& selection() {
  static const Selection automatic = select_automatic();
  static const Selection openblas{GemmLibrary::openblas, openblas_backend()};
#if defined(TAPEGRAD_HAVE_DNNL)
  static const Selection onednn{GemmLibrary::onednn, onednn_backend()};
  if (forced == GemmLibrary::onednn) return onednn;
#endif
  return forced == GemmLibrary::openblas ? openblas : automatic;
}

// dnnl_sgemm called outside a parallel region spreads even a tiny product over all threads; on
// 2 busy cores the MLP's last layer (64 x 10 x 256) then took 17 ms a call instead of 16 us,
// waiting for a descheduled thread. Below ~1M multiply-adds (conv's grain per task too) the
// calling thread does it alone. omp_set_num_threads changes only the calling thread's setting.
constexpr std::int64_t min_parallel_macs = std::int64_t(1) << 20;

struct SingleThreadIfSmall {
  int saved = 0;
  explicit SingleThreadIfSmall(std::int64_t macs) {
    if (macs < min_parallel_macs && !omp_in_parallel() && omp_get_max_threads() > 1) {
      saved = omp_get_max_threads();
      omp_set_num_threads(1);
    }
  }
  ~SingleThreadIfSmall() {
    if (saved) omp_set_num_threads(saved);
  }
  SingleThreadIfSmall(const SingleThreadIfSmall&) = delete;
  SingleThreadIfSmall& operator=(const SingleThreadIfSmall&) = delete;
};

}  // namespace

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  detail::sync_blas_threads();  // set_num_threads applies to threads started before or after it
  if (k == 0) {  // an empty sum, which dnnl_sgemm refuses: C = beta * C (0 when beta is 0)
    for (std::int64_t r = 0; r < m; ++r)
      for (std::int64_t j = 0; j < n; ++j) c[r * ldc + j] = beta == 0.0f ? 0.0f : beta * c[r * ldc + j];
    return;
  }
#if defined(TAPEGRAD_HAVE_DNNL)
  if (selection().library == GemmLibrary::onednn) {
    // Inside an OpenMP region (omp_in_parallel) dnnl_sgemm runs on the calling thread alone,
    // outside it on OpenMP's threads: OpenMP stays the one owner of the threads.
    const SingleThreadIfSmall small(m * n * k);
    const dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha,
                                            a, lda, b, ldb, beta, c, ldc);
    TG_ASSERT(status == dnnl_success, "gemm: dnnl_sgemm failed with status ", int(status));
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::sse: return "sse";
    case Isa::avx: return "avx";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

Isa cpu_isa() {
#if defined(__x86_64__) && defined(__GNUC__)
  // libgcc's checks include the OS's support for the wider registers (XCR0).
  if (__builtin_cpu_supports("avx512f")) return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
  if (__builtin_cpu_supports("avx")) return Isa::avx;
  return Isa::sse;
#else
  return Isa::scalar;
#endif
}

Isa build_isa() {
#if defined(__AVX512F__)
  return Isa::avx512;
#elif defined(__AVX2__) && defined(__FMA__)
  return Isa::avx2;
#elif defined(__AVX__)
  return Isa::avx;
#elif defined(__SSE2__)
  return Isa::sse;
#else
  return Isa::scalar;
#endif
}

const GemmBackend& gemm_backend() { return selection().backend; }

void set_gemm_library(GemmLibrary library) {
#if !defined(TAPEGRAD_HAVE_DNNL)
  TG_CHECK(library != GemmLibrary::onednn,
           "set_gemm_library: expected a library this build links, got oneDNN (not found at "
           "configure time: install libdnnl-dev and reconfigure)");
#endif
  forced = library;
}

std::string gemm_backends() {
  auto line = [](const GemmBackend& b) {
    return b.library + " [kernels " + b.kernels + ", " + isa_name(b.isa) + "]";
  };
  std::string all = line(openblas_backend());
#if defined(TAPEGRAD_HAVE_DNNL)
  all += "; " + line(onednn_backend());
#endif
  return all;
}

}  // namespace tg::kernels
