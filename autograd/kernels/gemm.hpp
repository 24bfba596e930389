#pragma once
// Row-major single-precision GEMM through a BLAS chosen once from the CPU's features, so that
// nothing else includes cblas.h or dnnl.h.
#include <cstdint>
#include <string>

namespace tg::kernels {

/// C[m, n] = alpha * op(A)[m, k] @ op(B)[k, n] + beta * C, row-major with leading dimensions.
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc);

/// Vector instruction sets, narrowest first: what a CPU has, a build targets, a kernel uses.
enum class Isa { scalar, sse, avx, avx2, avx512 };
const char* isa_name(Isa isa);
/// The widest of these instruction sets this CPU and its OS support.
Isa cpu_isa();
/// The widest the build targets (-march): what the compiler may use everywhere.
Isa build_isa();

/// The library gemm() calls and the kernels it runs on this CPU.
struct GemmBackend {
  std::string library;  // "oneDNN 2.6.3" or "OpenBLAS 0.3.21 ..."
  std::string kernels;  // its own name for them: "avx512_core_bf16", "Prescott"
  Isa isa;              // their instruction set
};
/// The backend gemm() uses: chosen from the CPU on first use (see gemm.cpp), unless forced.
const GemmBackend& gemm_backend();

/// Which library gemm() calls: the one chosen from the CPU, or one forced, for benchmarks and
/// tests that compare them in one process. Forcing one this build lacks throws tg::Error.
enum class GemmLibrary { automatic, openblas, onednn };
void set_gemm_library(GemmLibrary library);
/// Every BLAS this build links, whether used or not.
std::string gemm_backends();

}  // namespace tg::kernels
