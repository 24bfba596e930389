#include "tapegrad/deploy/export.hpp"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <unordered_set>

#include "tapegrad/autograd/anomaly.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/nn/atomic_file.hpp"
#include "tapegrad/deploy/graph.hpp"
#include "tapegrad/deploy/lower.hpp"
#include "tapegrad/deploy/recorder.hpp"

#ifndef TAPEGRAD_VERSION
#define TAPEGRAD_VERSION "unknown"
#endif

namespace tg::onnx {

namespace {

using detail::GraphBuilder;
using detail::TracedOp;

// Every module's training flag, restored in the destructor (export runs in eval mode).
class EvalModeGuard {
 public:
  explicit EvalModeGuard(nn::Module& model) {
    for (nn::Module* m : model.modules()) modes_.emplace_back(m, m->is_training());
    model.eval();
  }
  // Pre-order: each module's own train() call comes after its parent's, so each ends as it was.
  ~EvalModeGuard() {
    for (auto& [m, training] : modes_) m->train(training);
  }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  std::vector<std::pair<nn::Module*, bool>> modes_;
};

// The ops the output depends on, in the order they ran (others are left out of the file).
std::vector<const TracedOp*> needed_ops(const std::vector<TracedOp>& ops, const Variable& output) {
  std::unordered_set<const Node*> wanted{output.node().get()};
  std::vector<const TracedOp*> kept;
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    if (!wanted.count(it->output.node().get())) continue;
    kept.push_back(&*it);
    for (const Variable& in : it->inputs)
      if (in.defined()) wanted.insert(in.node().get());
  }
  return {kept.rbegin(), kept.rend()};
}

void set_value_info(::onnx::ValueInfoProto& info, const std::string& name, const Shape& shape,
                    bool dynamic_batch) {
  info.set_name(name);
  auto& tensor = *info.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(::onnx::TensorProto::FLOAT);
  auto& dims = *tensor.mutable_shape();
  for (std::size_t d = 0; d < shape.size(); ++d) {
    auto& dim = *dims.add_dim();
    if (d == 0 && dynamic_batch)
      dim.set_dim_param("batch");
    else
      dim.set_dim_value(static_cast<std::int64_t>(shape[d]));
  }
}

// Renames the value `from` to `to` in every node and in the graph.
void rename_value(::onnx::GraphProto& graph, const std::string& from, const std::string& to) {
  for (auto& node : *graph.mutable_node()) {
    for (auto& in : *node.mutable_input())
      if (in == from) in = to;
    for (auto& out : *node.mutable_output())
      if (out == from) out = to;
  }
}

// The graph's output is named `name`: the last node's output renamed, or an Identity when the
// output is no node's (the model returned its input or a parameter).
void name_output(::onnx::GraphProto& graph, const std::string& current, const std::string& name) {
  bool produced = false;
  for (const auto& node : graph.node())
    for (const auto& out : node.output()) produced = produced || out == current;
  if (produced) return rename_value(graph, current, name);
  auto& id = *graph.add_node();
  id.set_op_type("Identity");
  id.set_name("/Identity");
  id.add_input(current);
  id.add_output(name);
}

struct Traced {
  Variable input, output;
  detail::Recorder recorder;
};

// Runs the forward pass once, in eval mode, without gradients, with the recorder listening.
void trace_forward(nn::Module& model, const Forward& forward, const Tensor& example, Traced& t) {
  EvalModeGuard eval(model);
  NoGradGuard no_grad;
  trace::TraceGuard listening(t.recorder);
  nn::ModuleScope scope(model);  // errors name the module path from the model down
  t.input = Variable(example);
  t.output = forward(t.input);
  TG_CHECK(t.output.defined(), "export_onnx: expected the forward pass to return a value, got an "
                               "undefined Variable");
}

void add_parameters(GraphBuilder& g, const nn::Module& model, detail::BufferNames& buffers) {
  for (const auto& [name, p] : model.named_parameters()) {
    g.initializer(name, p.value());
    g.bind(p, name);
  }
  for (const auto& [name, b] : model.named_buffers()) {
    if (name.ends_with("num_batches_tracked")) continue;  // a counter no runtime reads
    g.initializer(name, b.value());
    g.bind(b, name);
    buffers[&b.value()] = name;
  }
}

// Drops initializers no node reads (parameters of unused modules, e.g. an auxiliary head).
void drop_unused_initializers(::onnx::GraphProto& graph) {
  std::unordered_set<std::string> used;
  for (const auto& node : graph.node())
    for (const auto& in : node.input()) used.insert(in);
  auto* inits = graph.mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i)
    if (!used.count(inits->Get(i).name())) inits->DeleteSubrange(i, 1);
}

void build_graph(::onnx::GraphProto& graph, const nn::Module& model, const Traced& t,
                 const ExportOptions& options) {
  graph.set_name(model.name());
  GraphBuilder g(graph);
  detail::BufferNames buffers;
  add_parameters(g, model, buffers);
  g.bind(t.input, options.input_name);
  for (const TracedOp* op : needed_ops(t.recorder.ops(), t.output)) detail::lower(g, *op, buffers);
  name_output(graph, g.name_of(t.output), options.output_name);
  drop_unused_initializers(graph);
  set_value_info(*graph.add_input(), options.input_name, t.input.shape(), options.dynamic_batch);
  const bool batch_kept = t.output.dim() > 0 && t.input.dim() > 0 && t.output.shape()[0] == t.input.shape()[0];
  set_value_info(*graph.add_output(), options.output_name, t.output.shape(),
                 options.dynamic_batch && batch_kept);
}

// ONNX's checker and shape inference, their messages turned into tg::Error.
void check(::onnx::ModelProto& proto, const std::filesystem::path& path) {
  try {
    ::onnx::checker::check_model(proto);
    ::onnx::shape_inference::InferShapes(proto, ::onnx::OpSchemaRegistry::Instance(),
                                         ::onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    throw Error(::tg::detail::concat("export_onnx: ONNX rejected the model for ", path.string(),
                                     ": ", e.what()));
  }
}

}  // namespace

void export_model(nn::Module& model, const Forward& forward, const Tensor& example_input,
                  const std::filesystem::path& path, const ExportOptions& options) {
  TG_CHECK(options.opset >= 13 && options.opset <= 17,
           "export_onnx: expected opset 13 to 17, got ", options.opset);
  TG_CHECK(!options.input_name.empty() && !options.output_name.empty() &&
               options.input_name != options.output_name,
           "export_onnx: expected two different, non-empty input and output names, got '",
           options.input_name, "' and '", options.output_name, "'");
  Traced t;
  trace_forward(model, forward, example_input, t);
  ::onnx::ModelProto proto;
  proto.set_ir_version(8);  // ONNX 1.10+; opsets 13-17 all run under it
  proto.set_producer_name("tapegrad");
  proto.set_producer_version(TAPEGRAD_VERSION);
  auto& opset = *proto.add_opset_import();
  opset.set_domain("");
  opset.set_version(options.opset);
  build_graph(*proto.mutable_graph(), model, t, options);
  check(proto, path);
  const std::string bytes = proto.SerializeAsString();
  nn::detail::AtomicFile file(path, "export_onnx");
  file.write(bytes.data(), bytes.size());
  file.commit();
}

}  // namespace tg::onnx
