#pragma once
/// @file
/// Elementwise ops with NumPy/PyTorch broadcasting, and the activations.
#include <limits>

#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// a + b, broadcast.
Variable add(const Variable& a, const Variable& b);
/// relu(a + b) in one pass over memory, forward and backward (a residual block's last step);
/// a and b must have the same shape.
Variable add_relu(const Variable& a, const Variable& b);
/// a - b, broadcast.
Variable sub(const Variable& a, const Variable& b);
/// a * b, broadcast.
Variable mul(const Variable& a, const Variable& b);
/// a / b, broadcast.
Variable div(const Variable& a, const Variable& b);
///@{
/// a + s, a * s with a constant s (cheaper than broadcasting a one-element tensor).
Variable add(const Variable& a, float s);
Variable mul(const Variable& a, float s);
///@}
/// -a
Variable neg(const Variable& a);
/// s / a
Variable rdiv(float s, const Variable& a);

/// e^x.
Variable exp(const Variable& x);
/// Natural log; x <= 0 gives -inf/NaN exactly as PyTorch does.
Variable log(const Variable& x);
/// x^p for a constant p.
Variable pow(const Variable& x, float p);
/// x^y elementwise, broadcast (x > 0 where y's gradient is needed).
Variable pow(const Variable& x, const Variable& y);
/// Square root; x < 0 gives NaN as PyTorch does, the gradient at 0 is inf.
Variable sqrt(const Variable& x);
/// |x|; gradient sign(x), 0 at 0.
Variable abs(const Variable& x);
/// min(max(x, lo), hi); the gradient passes where lo <= x <= hi.
Variable clamp(const Variable& x, float lo = -std::numeric_limits<float>::infinity(),
               float hi = std::numeric_limits<float>::infinity());
/// max(x, 0), NaN passed through; gradient 1 where x > 0. Taken by value: given a temporary
/// (`relu(bn(conv(x)))`, `relu(a + b)`), it holds the only handle and works in place, fusing
/// into the batch norm or addition that made x when it can (the same values and gradients).
Variable relu(Variable x);
/// x where x > 0, slope * x elsewhere.
Variable leaky_relu(const Variable& x, float negative_slope = 0.01f);
/// 1 / (1 + e^-x)
Variable sigmoid(const Variable& x);
/// Hyperbolic tangent.
Variable tanh(const Variable& x);

///@{
/// add, sub, mul, div of two Variables, broadcast (shapes that do not broadcast throw tg::Error).
Variable operator+(const Variable& a, const Variable& b);
Variable operator-(const Variable& a, const Variable& b);
Variable operator*(const Variable& a, const Variable& b);
Variable operator/(const Variable& a, const Variable& b);
///@}
///@{
/// Arithmetic with a constant on either side, elementwise.
Variable operator+(const Variable& a, float s);
Variable operator+(float s, const Variable& a);
Variable operator-(const Variable& a, float s);
Variable operator-(float s, const Variable& a);
Variable operator*(const Variable& a, float s);
Variable operator*(float s, const Variable& a);
Variable operator/(const Variable& a, float s);
Variable operator/(float s, const Variable& a);
///@}
/// neg(a).
Variable operator-(const Variable& a);

/// The shape a and b broadcast to; throws naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Sums `grad` down to `shape` (the reverse of broadcasting `shape` up to grad's shape).
Tensor sum_to(Tensor grad, const Shape& shape);
/// x broadcast to `shape` as NumPy/PyTorch broadcast (LibTorch's broadcast_to), as a copy;
/// differentiable (its gradient sums back). Throws tg::Error when x does not broadcast to it.
Variable broadcast_to(const Variable& x, const Shape& shape);
/// x summed down to `shape`, which must broadcast to x's shape (the gradient of broadcasting);
/// differentiable (its gradient broadcasts back).
Variable sum_to(const Variable& x, const Shape& shape);

}  // namespace tg
