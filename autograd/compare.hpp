#pragma once
// Comparisons, as LibTorch's torch::eq/ne/lt/le/gt/ge: 1 where the relation holds, else 0, as
// float32 tensors (tapegrad stores float32 only; LibTorch returns bool tensors, whose sum and
// item<int64_t>() give the same numbers). Not differentiable: the result is a plain leaf.
// The right side is a Variable or Tensor (broadcast), tg::Labels (broadcast, compared as
// integers: exact for |label| < 2^24) or a number.
#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// 1 where a == b, else 0.
Variable eq(const Variable& a, const CompareOperand& b);
/// 1 where a != b (NaN != anything), else 0.
Variable ne(const Variable& a, const CompareOperand& b);
/// 1 where a < b, else 0.
Variable lt(const Variable& a, const CompareOperand& b);
/// 1 where a <= b, else 0.
Variable le(const Variable& a, const CompareOperand& b);
/// 1 where a > b, else 0.
Variable gt(const Variable& a, const CompareOperand& b);
/// 1 where a >= b, else 0.
Variable ge(const Variable& a, const CompareOperand& b);

}  // namespace tg
