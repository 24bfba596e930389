#pragma once
/// @file
/// Tracing: while a Tracer is installed on a thread, every op recorded there (record_op) is
/// reported to it with its inputs and result, and ops whose result depends on more than their
/// inputs (conv2d's stride, a pooling window, a softmax's axis...) announce those attributes
/// just before they record (one added line per op: no existing line changes). The ONNX exporter
/// (deploy/) is the tracer. Off (the default), an op pays one thread-local pointer test; kernels
/// and backward rules know nothing of it.
#include <cstdint>
#include <span>
#include <utility>
#include <variant>
#include <vector>

#include "tapegrad/autograd/variable.hpp"

/// The tracing hook ops report to (what ONNX export listens with); users rarely need it.
namespace tg::trace {

/// An attribute's value: an integer, a float, a list of integers, or a tensor the op read but
/// does not take as an input (batch_norm's running statistics).
using AttrValue = std::variant<std::int64_t, float, std::vector<std::int64_t>, const Tensor*>;

/// One named attribute of a traced op ("stride_h", 2).
struct Attr {
  const char* name;  ///< a string literal, the op's parameter name
  AttrValue value;   ///< its value
};

/// Receives the ops recorded on the thread it is installed on.
class Tracer {
 public:
  virtual ~Tracer() = default;
  /// An op ran: `output` is its result, `inputs` its arguments (undefined ones included).
  virtual void on_op(const char* op, const Variable& output, std::span<const Variable> inputs) = 0;
  /// The attributes of the next op `op` records on this thread (called just before its on_op).
  virtual void on_attributes(const char* op, std::vector<Attr> attributes) = 0;
};

namespace detail {
/// The tracer installed on this thread, or nullptr (constant-initialised: cheap to test).
inline thread_local Tracer* tracer = nullptr;
}  // namespace detail

/// Whether a tracer listens on this thread: ops test it before building their attributes.
inline bool active() { return detail::tracer != nullptr; }

/// Announces the attributes of the op about to record as `op`; call only when active().
inline void attributes(const char* op, std::vector<Attr> attributes) {
  detail::tracer->on_attributes(op, std::move(attributes));
}

/// While alive, `tracer` receives this thread's ops (the previous one is restored after).
class TraceGuard {
 public:
  /// Installs `tracer` on this thread.
  explicit TraceGuard(Tracer& tracer) : previous_(detail::tracer) { detail::tracer = &tracer; }
  /// Restores the tracer that was installed before.
  ~TraceGuard() { detail::tracer = previous_; }
  TraceGuard(const TraceGuard&) = delete;
  TraceGuard& operator=(const TraceGuard&) = delete;

 private:
  Tracer* previous_;
};

}  // namespace tg::trace
