#pragma once
// Variables made from nothing: constants, ranges and random draws (from the default generator).
#include "tapegrad/autograd/variable.hpp"

namespace tg {

class Generator;

Variable zeros(const Shape& shape, bool requires_grad = false);
Variable ones(const Shape& shape, bool requires_grad = false);
Variable full(const Shape& shape, float value, bool requires_grad = false);
/// Standard normal values.
Variable randn(const Shape& shape, bool requires_grad = false);
/// Uniform values in [0, 1).
Variable rand(const Shape& shape, bool requires_grad = false);
/// 0, 1, ..., n-1.
Variable arange(std::int64_t n, bool requires_grad = false);

/// Plain tensors drawn from a given generator (for init, augmentation, tests).
Tensor randn_tensor(const Shape& shape, Generator& gen);
Tensor rand_tensor(const Shape& shape, Generator& gen, float lo = 0.0f, float hi = 1.0f);

}  // namespace tg
