#pragma once
// Row-major single-precision GEMM (cblas_sgemm), so that nothing else includes cblas.h.
#include <cstdint>

namespace tg::kernels {

/// C[m, n] = alpha * op(A)[m, k] @ op(B)[k, n] + beta * C, row-major with leading dimensions.
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc);

}  // namespace tg::kernels
