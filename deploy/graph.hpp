#pragma once
// Building an ONNX GraphProto from traced values (internal to tapegrad_deploy: includes the
// generated protobuf header). Every tapegrad value (a Node) gets one ONNX name: the graph
// input's, a parameter's or buffer's state-dict name, a node output's, or a constant's.
#include <onnx/onnx_pb.h>  // defines ONNX_API, then includes the generated onnx-ml.pb.h

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "tapegrad/autograd/variable.hpp"

namespace tg::onnx::detail {

/// Largest serialised model export_model writes: protobuf's limit on one message, 2^31 - 1
/// bytes. Tests lower it to check the refusal without building a 2 GiB model.
inline std::size_t max_model_bytes = 2147483647;

class GraphBuilder {
 public:
  explicit GraphBuilder(::onnx::GraphProto& graph) : graph_(graph) {}

  /// Gives `v` the name `name` (the input, a parameter) without adding anything to the graph.
  void bind(const Variable& v, const std::string& name);
  /// A float initializer named `name` holding `value` (parameters, buffers, constants).
  std::string initializer(const std::string& name, const Tensor& value);
  /// The name of `v`: bound, produced by an earlier node, or else a new constant initializer
  /// holding its value (a tensor the forward pass made without any input).
  std::string name_of(const Variable& v);
  bool has_name(const Variable& v) const { return names_.count(v.node().get()) != 0; }
  /// An initializer named `<hint>_<n>`: a float tensor, one float, or a 1-D int64 tensor.
  std::string constant(const Tensor& value, const std::string& hint);
  std::string scalar(float value, const std::string& hint);
  std::string int64s(const std::vector<std::int64_t>& values, const std::string& hint);
  /// A new node `op_type` in `scope` (a module path) with these inputs and `outputs` fresh
  /// output names ("<scope>/<op_type>_<n>:<k>"); returns it to add attributes to.
  ::onnx::NodeProto& node(const std::string& op_type, const std::vector<std::string>& inputs,
                          const std::string& scope, int outputs = 1);
  /// Makes `output_name` the name of `v` from now on (the last node's output for an op).
  void set_output(const Variable& v, const std::string& output_name);

 private:
  std::string fresh(const std::string& hint);
  ::onnx::GraphProto& graph_;
  std::unordered_map<const Node*, std::string> names_;
  std::unordered_map<std::string, int> counters_;
};

/// Attribute setters.
void set_int(::onnx::NodeProto& node, const char* name, std::int64_t value);
void set_float(::onnx::NodeProto& node, const char* name, float value);
void set_ints(::onnx::NodeProto& node, const char* name, const std::vector<std::int64_t>& values);

/// A TensorProto holding `value` as float (dims from its shape).
void fill_tensor(::onnx::TensorProto& t, const std::string& name, const Tensor& value);

}  // namespace tg::onnx::detail
