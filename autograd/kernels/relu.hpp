#pragma once
// ReLU's value and gradient mask, shared by relu and every op that fuses a ReLU (batch_norm_relu,
// add_relu), so that fused and unfused agree on every input, NaN included. Function objects,
// not functions: passed to the elementwise loops they inline and vectorise, where a function
// pointer would cost a call per element.

namespace tg::kernels {

/// max(v, 0) with NaN passed through, as PyTorch's relu (a plain `v > 0 ? v : 0` turns NaN into
/// 0 and hides it). Compiles to one vmaxps with the operands in this order.
inline constexpr struct {
  float operator()(float v) const { return v < 0.0f ? 0.0f : v; }
} relu_value;

/// The gradient through a ReLU given its output: PyTorch's threshold_backward(g, out, 0), which
/// lets the gradient through where the output is NaN.
inline constexpr struct {
  float operator()(float g, float out) const { return out <= 0.0f ? 0.0f : g; }
} relu_grad;

}  // namespace tg::kernels
