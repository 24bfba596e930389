#include "tapegrad/deploy/graph.hpp"

#include <algorithm>

#include "tapegrad/autograd/error.hpp"

namespace tg::onnx::detail {

void fill_tensor(::onnx::TensorProto& t, const std::string& name, const Tensor& value) {
  t.set_name(name);
  t.set_data_type(::onnx::TensorProto::FLOAT);
  for (std::size_t d : value.shape()) t.add_dims(static_cast<std::int64_t>(d));
  // raw_data: little-endian floats, one copy, no per-element protobuf overhead.
  t.set_raw_data(value.data(), value.size() * sizeof(float));
}

void GraphBuilder::bind(const Variable& v, const std::string& name) { names_[v.node().get()] = name; }

std::string GraphBuilder::initializer(const std::string& name, const Tensor& value) {
  fill_tensor(*graph_.add_initializer(), name, value);
  return name;
}

std::string GraphBuilder::fresh(const std::string& hint) {
  return hint + "_" + std::to_string(counters_[hint]++);
}

std::string GraphBuilder::name_of(const Variable& v) {
  TG_ASSERT(v.defined(), "export_onnx: an undefined value has no name");
  auto it = names_.find(v.node().get());
  if (it != names_.end()) return it->second;
  const std::string name = constant(v.value(), "constant");
  bind(v, name);
  return name;
}

std::string GraphBuilder::constant(const Tensor& value, const std::string& hint) {
  return initializer(fresh(hint), value);
}

std::string GraphBuilder::scalar(float value, const std::string& hint) {
  return constant(filled(Shape{}, value), hint);
}

std::string GraphBuilder::int64s(const std::vector<std::int64_t>& values, const std::string& hint) {
  ::onnx::TensorProto& t = *graph_.add_initializer();
  const std::string name = fresh(hint);
  t.set_name(name);
  t.set_data_type(::onnx::TensorProto::INT64);
  t.add_dims(static_cast<std::int64_t>(values.size()));
  for (std::int64_t v : values) t.add_int64_data(v);
  return name;
}

::onnx::NodeProto& GraphBuilder::node(const std::string& op_type,
                                      const std::vector<std::string>& inputs,
                                      const std::string& scope, int outputs) {
  ::onnx::NodeProto& n = *graph_.add_node();
  const std::string name = fresh("/" + scope + (scope.empty() ? "" : "/") + op_type);
  n.set_name(name);
  n.set_op_type(op_type);
  for (const std::string& in : inputs) n.add_input(in);
  for (int k = 0; k < outputs; ++k) n.add_output(name + ":" + std::to_string(k));
  return n;
}

void GraphBuilder::set_output(const Variable& v, const std::string& output_name) { bind(v, output_name); }

void set_int(::onnx::NodeProto& node, const char* name, std::int64_t value) {
  ::onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::INT);
  a.set_i(value);
}

void set_float(::onnx::NodeProto& node, const char* name, float value) {
  ::onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::FLOAT);
  a.set_f(value);
}

void set_ints(::onnx::NodeProto& node, const char* name, const std::vector<std::int64_t>& values) {
  ::onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::INTS);
  for (std::int64_t v : values) a.add_ints(v);
}

}  // namespace tg::onnx::detail
