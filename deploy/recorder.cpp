#include "tapegrad/deploy/recorder.hpp"

#include <cstring>

#include "tapegrad/autograd/anomaly.hpp"
#include "tapegrad/autograd/error.hpp"

namespace tg::onnx::detail {

const trace::AttrValue& TracedOp::attribute(const char* name) const {
  for (const trace::Attr& a : attributes)
    if (std::strcmp(a.name, name) == 0) return a.value;
  TG_ASSERT(false, "export_onnx: ", op, " did not announce its attribute ", name);
  return attributes.front().value;  // unreachable
}

std::int64_t TracedOp::int_attr(const char* name) const {
  const auto* v = std::get_if<std::int64_t>(&attribute(name));
  TG_ASSERT(v != nullptr, "export_onnx: ", op, "'s attribute ", name, " is not an integer");
  return *v;
}

float TracedOp::float_attr(const char* name) const {
  const auto* v = std::get_if<float>(&attribute(name));
  TG_ASSERT(v != nullptr, "export_onnx: ", op, "'s attribute ", name, " is not a float");
  return *v;
}

const std::vector<std::int64_t>& TracedOp::ints_attr(const char* name) const {
  const auto* v = std::get_if<std::vector<std::int64_t>>(&attribute(name));
  TG_ASSERT(v != nullptr, "export_onnx: ", op, "'s attribute ", name, " is not a list");
  return *v;
}

std::string TracedOp::where() const {
  return module_path.empty() ? "outside any module" : "in module " + module_path;
}

void Recorder::on_attributes(const char* op, std::vector<trace::Attr> attributes) {
  pending_op_ = op;
  pending_ = std::move(attributes);
}

void Recorder::on_op(const char* op, const Variable& output, std::span<const Variable> inputs) {
  TracedOp t{op, output, {inputs.begin(), inputs.end()}, {}, autograd::current_module_path()};
  if (pending_op_ != nullptr) {
    // An op announces its attributes right before it records: anything else is a bug.
    TG_ASSERT(std::strcmp(pending_op_, op) == 0, "export_onnx: attributes announced by ",
              pending_op_, " were followed by ", op);
    t.attributes = std::move(pending_);
    pending_op_ = nullptr;
    pending_.clear();
  }
  ops_.push_back(std::move(t));
}

}  // namespace tg::onnx::detail
