#pragma once
/// @file
/// Matrix products through cblas_sgemm.
#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// torch.matmul: [n, k] @ [k, m]; batched [..., n, k] @ [..., k, m] with broadcast batch
/// dimensions; a 1-D operand is a vector.
Variable matmul(const Variable& a, const Variable& b);
/// x @ weight^T + bias, x [..., in], weight [out, in], bias [out] (may be undefined).
Variable linear(const Variable& x, const Variable& weight, const Variable& bias = Variable());

}  // namespace tg
