#pragma once
// The tracer behind export_model: keeps every op recorded during the traced forward pass with
// its inputs, result, attributes and the module path it ran in. It holds handles to all of them,
// so no node is freed (and no address reused) while the pass runs.
#include <string>
#include <vector>

#include "tapegrad/autograd/trace.hpp"

namespace tg::onnx::detail {

/// One op seen during the traced pass.
struct TracedOp {
  std::string op;                        // record_op's name: "conv2d", "add_relu"...
  Variable output;
  std::vector<Variable> inputs;          // undefined ones (no bias) included
  std::vector<trace::Attr> attributes;   // announced by the op (empty for most)
  std::string module_path;               // "ResNetCifar.layer1.0.conv1 (Conv2d)", or ""

  /// The attribute `name`; throws an internal error when the op did not announce it.
  const trace::AttrValue& attribute(const char* name) const;
  std::int64_t int_attr(const char* name) const;
  float float_attr(const char* name) const;
  const std::vector<std::int64_t>& ints_attr(const char* name) const;
  /// "in module ResNetCifar.layer1.0.conv1 (Conv2d)" or "outside any module", for messages.
  std::string where() const;
};

class Recorder : public trace::Tracer {
 public:
  void on_op(const char* op, const Variable& output, std::span<const Variable> inputs) override;
  void on_attributes(const char* op, std::vector<trace::Attr> attributes) override;
  const std::vector<TracedOp>& ops() const { return ops_; }

 private:
  std::vector<TracedOp> ops_;
  const char* pending_op_ = nullptr;
  std::vector<trace::Attr> pending_;
};

}  // namespace tg::onnx::detail
