#include "tapegrad/autograd/anomaly.hpp"

#include <cmath>
#include <sstream>
#include <vector>

#include "tapegrad/autograd/error.hpp"

namespace tg {

namespace {

struct ModuleFrame {
  const void* module;
  std::string segment;    // the child's name in its parent ("conv1"), or its type at the root
  std::string type_name;  // "Conv2d"
};
thread_local std::vector<ModuleFrame> module_stack;

// Where the first non-finite value is and how many there are (0: all finite).
struct NonFinite {
  std::size_t count = 0, first = 0;
  float value = 0.0f;
};
NonFinite scan(const Tensor& t) {
  NonFinite r;
  const float* p = t.data();
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (std::isfinite(p[i])) continue;
    if (r.count++ == 0) {
      r.first = i;
      r.value = p[i];
    }
  }
  return r;
}

std::string describe(const NonFinite& bad, const Tensor& t) {
  std::ostringstream out;
  out << bad.count << " of " << t.size() << " values non-finite (first: " << bad.value
      << " at flat index " << bad.first << ")";
  return out.str();
}

std::string shapes_of(std::span<const Variable> inputs) {
  std::string out;
  for (const Variable& in : inputs) {
    if (!out.empty()) out += ", ";
    out += in.defined() ? shape_str(in.shape()) : "none";
  }
  return out.empty() ? "none" : out;
}

std::string where(const std::string& path) {
  return path.empty() ? "outside any module (no tg::nn module on the call stack)"
                      : "in module " + path;
}

// A hint that the NaN was already there: the op only passed it on.
std::string earlier_nan_hint(std::span<const Variable> inputs) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) continue;
    const NonFinite bad = scan(inputs[i].value());
    if (bad.count != 0)
      return detail::concat("; input ", i, " already holds ", describe(bad, inputs[i].value()),
                            ": it came in from before this op (a data or parameter problem)");
  }
  return "; its inputs are finite: this op made the NaN/Inf (overflow, log/sqrt/division at "
         "an invalid point; a lower learning rate often helps)";
}

// `location`: "in module ...", "outside any module", or "" when forward was not recorded.
void check_gradients(const char* op, const BackwardCtx& ctx, const TensorList& grads,
                     const std::string& input_shapes, const std::string& location) {
  for (std::size_t i = 0; i < grads.size() && i < ctx.num_inputs(); ++i) {
    if (!ctx.needs(i)) continue;
    const NonFinite bad = scan(grads[i]);
    if (bad.count == 0) continue;
    std::string shapes = input_shapes;
    if (shapes.empty())  // inputs that need no gradient may be absent: only these are known
      for (std::size_t k = 0; k < ctx.num_inputs(); ++k)
        shapes += (k ? ", " : "") + (ctx.needs(k) ? shape_str(ctx.input(k).shape()) : "-");
    const bool output_bad = scan(ctx.output()).count != 0;
    TG_CHECK(false, "anomaly detected: the backward of ", op, " returned ", describe(bad, grads[i]),
             " in the gradient of input ", i, " (shape ", shape_str(grads[i].shape()),
             "), for inputs of shapes ", shapes, ", ",
             location.empty() ? "module not recorded for gradients (the forward error names it)"
                              : location,
             output_bad ? "; its forward result was already non-finite"
                        : "; its forward result was finite (e.g. sqrt or log at 0, or an "
                          "exploding gradient: lower the learning rate or clip gradients)",
             " (found by tg::autograd::DetectAnomalyGuard)");
  }
}

}  // namespace

namespace autograd {

DetectAnomalyGuard::DetectAnomalyGuard(bool enabled) : previous_(detail::anomaly_on) {
  detail::anomaly_on = enabled;
}
DetectAnomalyGuard::~DetectAnomalyGuard() { detail::anomaly_on = previous_; }

bool anomaly_enabled() { return detail::anomaly_on; }

std::string current_module_path() {
  if (module_stack.empty()) return {};
  std::string path;
  for (const ModuleFrame& f : module_stack) path += (path.empty() ? "" : ".") + f.segment;
  const ModuleFrame& last = module_stack.back();
  return last.segment == last.type_name ? path : path + " (" + last.type_name + ")";
}

}  // namespace autograd

namespace detail {

void anomaly_on_record(const char* op, const Tensor& value, std::span<const Variable> inputs,
                       BackwardFn* backward) {
  const NonFinite bad = scan(value);
  TG_CHECK(bad.count == 0, "anomaly detected: ", op, " returned ", describe(bad, value),
           " in forward, for inputs of shapes ", shapes_of(inputs), ", ",
           where(autograd::current_module_path()),
           earlier_nan_hint(inputs), " (found by tg::autograd::DetectAnomalyGuard)");
  // Gradients are checked by the engine while the guard is alive. The backward rule is not
  // wrapped here: ops that fuse a following relu (batch_norm, add) rewrite their own rule.
  (void)backward;
}

void anomaly_check_gradients(const char* op, const BackwardCtx& ctx, const TensorList& grads,
                             const std::string& input_shapes, const std::string& module_path) {
  check_gradients(op, ctx, grads, input_shapes, module_path.empty() ? "" : where(module_path));
}

void push_module(const void* module, std::string segment, std::string type_name) {
  module_stack.push_back({module, std::move(segment), std::move(type_name)});
}
void pop_module() {
  if (!module_stack.empty()) module_stack.pop_back();
}
const void* current_module() { return module_stack.empty() ? nullptr : module_stack.back().module; }

}  // namespace detail

}  // namespace tg
