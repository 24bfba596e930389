#pragma once
// Copies of short rows between strided planes: a convolution's zero-padded planes (Winograd,
// the implicit route) and its wide output grid hold rows of 7-28 floats.
#include <cstdint>

namespace tg::kernels {

/// Copies rows x width floats from src to dst, rows src_stride and dst_stride floats apart.
/// Writes only the rows' floats (never the padding between them); src and dst must not overlap.
void copy_rows(const float* src, std::int64_t src_stride, float* dst, std::int64_t dst_stride,
               std::int64_t rows, std::int64_t width);

}  // namespace tg::kernels
