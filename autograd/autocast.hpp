#pragma once
/// @file
/// Mixed precision on the CPU, as `torch.autocast("cpu", dtype=torch.bfloat16)`: inside an
/// AutocastGuard, conv2d, linear and matmul multiply in bfloat16 (operands rounded to nearest
/// even) and accumulate in fp32, forward and backward (an op's backward follows the precision
/// its forward ran in, wherever backward() is called). Every other op, the tensors themselves,
/// parameters, gradients, optimizer state and checkpoints stay fp32. Unlike PyTorch, results
/// stay fp32 (not rounded to bf16 on the way out) and biases are added in fp32; a 3x3 conv that
/// runs through Winograd's F(2x2, 3x3) rounds its transformed tiles rather than its inputs.
///
/// Where bf16 does not pay (a CPU without AVX512-BF16, or one where a short measurement at the
/// first op under autocast finds the bf16 GEMM not faster than the fp32 one), autocast runs the
/// fp32 kernels: the results are then exactly those without autocast. tg::build_info() says
/// which was chosen and why; the environment variable TAPEGRAD_AUTOCAST_BF16=on|off|auto
/// (default auto) forces either way (on still needs AVX512-BF16).
#include <string>

namespace tg {

namespace autocast {

/// Turns autocast on or off on the calling thread (LibTorch's at::autocast::set_cpu_enabled);
/// prefer AutocastGuard, which restores the previous state.
void set_enabled(bool enabled);

/// Whether autocast is on in the calling thread (LibTorch's at::autocast::is_cpu_enabled).
bool is_enabled();

/// Whether ops under autocast multiply in bf16 on this CPU: autocast is on in the calling
/// thread and the bf16 kernels were chosen (see kernel_choice()). Decides on first call.
bool bf16_active();

/// The choice autocast made for this process and why, one line: "bf16: measured 1.8x ..." or
/// "fp32: this CPU has no AVX512-BF16". Runs the measurement on first call (a few ms).
std::string kernel_choice();

}  // namespace autocast

/// While alive, autocast is on (or, given false, off) on the calling thread; the previous state
/// comes back on destruction, so guards nest. Thread-local as torch.autocast: threads started
/// inside do not inherit it.
/// @code
///   {
///     tg::AutocastGuard autocast;          // bf16 products from here
///     auto loss = criterion(model->forward(x), y);
///   }
///   loss.backward();                       // follows the forward: bf16 where it was
/// @endcode
class AutocastGuard {
 public:
  /// Sets autocast to `enabled` (default on) on this thread until the guard is destroyed.
  explicit AutocastGuard(bool enabled = true);
  /// Restores the state before the guard.
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace tg
