#pragma once
// A single-threaded GEMM for the shapes of CNN convolutions on a CPU: one side skinny (8-64
// rows), the other a few hundred to a few thousand wide, k from tens to a thousand. OpenBLAS
// copies both operands into its own tiles on every call, which costs as much as the product at
// these sizes; this kernel reads the operands in place (A by broadcast from up to 16 rows, B by
// vector loads along its contiguous rows) and keeps a tile of C in registers: 16 x 16, 8 x 48,
// 8 x 32 or 8 x 16 with AVX-512's 32 registers; 12 x 8, 6 x 16, 6 x 8, 4 x 24 or 4 x 16 with
// AVX2's 16.
// Measured on the Intel Xeon (AVX-512) against cblas_sgemm on the ResNet-20 conv shapes, one
// thread: 1.3-1.5x faster, except the 16-channel weight gradient (a 16 x 16 tile: on par).
#include <cstdint>

#include "tapegrad/autograd/kernels/gemm.hpp"

namespace tg::kernels {

/// A [m, k], read by broadcast: a(r, i) = data[r * row_stride + i * k_stride], or, given a
/// table of row pointers, rows[r][i * k_stride].
struct LeftOperand {
  const float* data;
  std::int64_t row_stride, k_stride;
  const float* const* rows = nullptr;
};

/// B [k, n] with contiguous rows: b(i, j) = data[i * row_stride + j], or, given a table of row
/// pointers, rows[i][j] (rows at no fixed distance: the shifted input planes of a convolution).
/// Rows whose stride is a multiple of 4 KiB alias in the L1 cache; pad them (see
/// padded_row_stride).
struct RightOperand {
  const float* data;
  std::int64_t row_stride;
  const float* const* rows = nullptr;
};

/// C [m, n] (row-major, leading dimension ldc) = A @ B, or C += A @ B when accumulate is set.
void small_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const LeftOperand& a,
                const RightOperand& b, float* c, std::int64_t ldc, bool accumulate);

/// The vectors small_gemm was compiled for (xsimd's widest at build time) and their name.
Isa small_gemm_isa();
const char* small_gemm_arch();

/// A row stride of at least n floats for a B operand that does not alias in the L1 cache.
std::int64_t padded_row_stride(std::int64_t n);

}  // namespace tg::kernels
