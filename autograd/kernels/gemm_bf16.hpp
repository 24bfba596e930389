#pragma once
// Mixed-precision GEMM for autocast: operands rounded to bfloat16 (nearest even) while they are
// packed into the kernel's panels, products and sums in fp32 (AVX512-BF16's vdpbf16ps). Whether
// autocast uses it on this CPU is decided once, by the CPU's features and a short measurement
// against the fp32 GEMM (see bf16_decision), or forced by TAPEGRAD_AUTOCAST_BF16=on|off|auto.
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/autograd/kernels/im2col.hpp"

namespace tg::kernels {

/// fp32 -> bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN of the same sign,
/// infinities and denormals keep their bf16 counterparts (c10::BFloat16's conversion).
inline std::uint16_t float_to_bf16(float value) {
  std::uint32_t u = 0;
  __builtin_memcpy(&u, &value, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

/// bfloat16 bits -> fp32 (exact).
inline float bf16_to_float(std::uint16_t bits) {
  const std::uint32_t u = std::uint32_t(bits) << 16;
  float value = 0.0f;
  __builtin_memcpy(&value, &u, sizeof(value));
  return value;
}

/// fp32 rounded to the nearest bfloat16 and back: what a bf16 operand holds.
inline float round_to_bf16(float value) { return bf16_to_float(float_to_bf16(value)); }

/// C[m, n] = op(A)[m, k] @ op(B)[k, n] + beta * C (row-major, leading dimensions), A and B
/// rounded to bf16 (nearest even, by vcvtneps2bf16: denormal operands count as zero, as
/// vdpbf16ps would treat them anyway), accumulated in fp32. Needs bf16_kernels_available(); parallel over column
/// panels when called outside a parallel region, single-threaded inside one.
void gemm_bf16(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
               const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
               float* c, std::int64_t ldc);

/// op(A) [m, k] rounded to bf16 and packed once, for products that reuse it (a conv's weights
/// over a batch's images, Winograd's transformed filters over its chunks).
class PackedBf16A {
 public:
  /// Packs op(A) (A transposed when trans_a); needs bf16_kernels_available().
  PackedBf16A(bool trans_a, std::int64_t m, std::int64_t k, const float* a, std::int64_t lda);

 private:
  friend void gemm_bf16(const PackedBf16A&, bool, std::int64_t, const float*, std::int64_t, float, float*,
                        std::int64_t);
  std::int64_t m_, k_;
  std::vector<std::uint32_t> data_;
};

/// gemm_bf16 with A packed beforehand: C[m, n] = A @ op(B)[k, n] + beta * C.
void gemm_bf16(const PackedBf16A& a, bool trans_b, std::int64_t n, const float* b, std::int64_t ldb,
               float beta, float* c, std::int64_t ldc);

/// C[m, n] = A[m, k] @ B + beta * C with B(i, j) = b_columns[j][i]: each column of B lies
/// contiguous wherever it is (a stride-1 convolution's shifted input rows, for its weight
/// gradient). Rounding and threading as gemm_bf16.
void gemm_bf16_columns(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
                       const float* const* b_columns, float beta, float* c, std::int64_t ldc);

/// Stride 1, no dilation or groups, not pointwise: what ImplicitConvBf16 computes.
bool implicit_bf16_applies(const ConvGeometry& g);

/// A stride-1 convolution in bf16 without a column matrix or packing (conv2d_implicit.hpp's
/// idea, paired): the input is copied once per image into a zero-padded plane of bf16 channel
/// pairs, so that the shifted rows of im2col's matrix, taken pair of channels by pair, are
/// vdpbf16ps's operand as they lie in memory; the weights are packed once, in the matching
/// (tap, channel pair) order. Outputs on the wide grid (padded width), copied out. No bias.
class ImplicitConvBf16 {
 public:
  /// Packs w [Cout, Cin, kH, kW] for geometry g (implicit_bf16_applies(g)).
  ImplicitConvBf16(const float* w, const ConvGeometry& g);

  /// One task's buffers, reused image after image (their borders stay zero).
  struct Scratch {
    /// Sized for `conv`.
    explicit Scratch(const ImplicitConvBf16& conv);
    std::vector<std::uint32_t> padded;  ///< [Cin/2, Hp, Wp] channel pairs, then slack
    std::vector<float> wide;            ///< [Cout, Ho * Wp]
    std::vector<const std::uint32_t*> rows;  ///< the K/2 shifted pair rows
  };

  /// yb [Cout, Ho, Wo] = conv(xb [Cin, H, W]) with operands rounded to bf16, fp32 sums.
  void forward(const float* xb, float* yb, Scratch& scratch) const;

 private:
  ConvGeometry g_;
  std::int64_t pairs_, padded_w_, padded_plane_, wide_, kp_;
  std::vector<std::uint32_t> a_;  // packed weights
};

/// The CPU (and the build) can run the bf16 kernels: x86-64 with AVX512-BF16.
bool bf16_kernels_available();

/// What autocast runs on this CPU: bf16 kernels or the fp32 ones, and why.
struct Bf16Decision {
  bool use_bf16;       ///< autocast multiplies in bf16
  bool forced;         ///< by TAPEGRAD_AUTOCAST_BF16=on|off rather than measured
  std::string reason;  ///< one line for build_info()
};

/// Decided once per process on first call (a few milliseconds of measurement when the mode is
/// auto and the CPU has AVX512-BF16); TAPEGRAD_AUTOCAST_BF16=on|off|auto forces it.
const Bf16Decision& bf16_decision();

}  // namespace tg::kernels
