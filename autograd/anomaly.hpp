#pragma once
/// @file
/// Anomaly mode (PyTorch's torch.autograd.detect_anomaly): while a DetectAnomalyGuard is alive
/// on a thread, every op's result in forward and every gradient a backward rule returns is
/// checked for NaN and Inf, and the first non-finite value is a tg::Error naming the op, its
/// input shapes and the module path that called it ("ResNetCifar.layer1.0.conv1 (Conv2d)").
/// Off (the default) it costs one thread-local test per op. On, it scans every result: a
/// debugging tool, several times slower than training, like PyTorch's.
#include <span>
#include <string>

#include "tapegrad/autograd/variable.hpp"

/// Autograd debugging tools under PyTorch's torch.autograd names (anomaly detection).
namespace tg::autograd {

/// While alive, checks forward results and backward gradients on this thread (nests).
class DetectAnomalyGuard {
 public:
  /// Turns anomaly mode on (or off, with false) for this thread until destroyed.
  explicit DetectAnomalyGuard(bool enabled = true);
  /// Restores the mode that was in force before.
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

/// Whether anomaly mode is on for this thread.
bool anomaly_enabled();

/// The path of the modules running on this thread ("" when none), recorded while anomaly mode
/// is on: "ResNetCifar.layer1.0.conv1 (Conv2d)".
std::string current_module_path();

}  // namespace tg::autograd

namespace tg::detail {

/// The anomaly-mode flag the recording and backward hooks test (constant-initialised: cheap).
inline thread_local bool anomaly_on = false;

/// Forward hook (record_op, anomaly mode only): throws when `value` holds NaN/Inf. `backward`
/// is left as it is (relu absorption rewrites rules); the engine checks the gradients.
void anomaly_on_record(const char* op, const Tensor& value, std::span<const Variable> inputs,
                       BackwardFn* backward);
/// Backward hook (engine, anomaly mode only): throws when a gradient holds NaN/Inf.
/// `input_shapes` and `module_path` may be given when known (the error says "not recorded").
void anomaly_check_gradients(const char* op, const BackwardCtx& ctx, const TensorList& grads,
                             const std::string& input_shapes = {},
                             const std::string& module_path = {});

/// The module-path stack (pushed by tg::nn::ModuleScope while anomaly mode is on).
void push_module(const void* module, std::string segment, std::string type_name);
void pop_module();
/// The innermost module on the stack, or nullptr.
const void* current_module();

}  // namespace tg::detail
