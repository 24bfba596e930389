#pragma once
// ReLU's value and gradient mask, shared by relu and every op that fuses a ReLU (batch_norm_relu,
// add_relu), so that fused and unfused agree on every input, NaN included.

namespace tg::kernels {

/// max(v, 0) with NaN passed through, as PyTorch's relu (a plain `v > 0 ? v : 0` turns NaN into
/// 0 and hides it). Compiles to one vmaxps with the operands in this order.
inline float relu_value(float v) { return v < 0.0f ? 0.0f : v; }

/// The gradient through a ReLU given its output: PyTorch's threshold_backward(g, out, 0), which
/// lets the gradient through where the output is NaN.
inline float relu_grad(float g, float out) { return out <= 0.0f ? 0.0f : g; }

}  // namespace tg::kernels
