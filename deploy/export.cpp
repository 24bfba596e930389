#include "tapegrad/deploy/export.hpp"

#include <onnx/checker.h>
#include <sys/stat.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "tapegrad/autograd/anomaly.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/random.hpp"
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

// Runs the forward pass once, in eval mode on this thread only (nn::EvalOnThisThread: the
// modules' flags, which another thread training the model reads, stay as they are), without
// gradients, with the recorder listening (thread-local too).
void trace_forward(const nn::Module& model, const Forward& forward, const Tensor& example,
                   Traced& t) {
  nn::EvalOnThisThread eval;
  NoGradGuard no_grad;
  trace::TraceGuard listening(t.recorder);
  nn::ModuleScope scope(model);  // errors name the module path from the model down
  t.input = Variable(example);
  t.output = forward(t.input);
  TG_CHECK(t.output.defined(), "export_onnx: expected the forward pass to return a value, got an "
                               "undefined Variable");
}

// Parameters and buffers under their state-dict names; as initializers only when `values`
// (the second, checking trace names them without copying gigabytes again).
void add_parameters(GraphBuilder& g, const nn::Module& model, detail::BufferNames& buffers,
                    bool values) {
  for (const auto& [name, p] : model.named_parameters()) {
    if (values) g.initializer(name, p.value());
    g.bind(p, name);
  }
  for (const auto& [name, b] : model.named_buffers()) {
    if (name.ends_with("num_batches_tracked")) continue;  // a counter no runtime reads
    if (values) g.initializer(name, b.value());
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

// The op each node of the graph came from ("linear in module Net.fc (Linear)"), by node index.
using Origins = std::vector<std::string>;

std::string origin_of(const TracedOp& op) { return op.op + " " + op.where(); }

void build_graph(::onnx::GraphProto& graph, const nn::Module& model, const Traced& t,
                 const ExportOptions& options, bool values, Origins& origins) {
  graph.set_name(model.name());
  GraphBuilder g(graph);
  detail::BufferNames buffers;
  add_parameters(g, model, buffers, values);
  g.bind(t.input, options.input_name);
  for (const TracedOp* op : needed_ops(t.recorder.ops(), t.output)) {
    detail::lower(g, *op, buffers);
    origins.resize(static_cast<std::size_t>(graph.node_size()), origin_of(*op));
  }
  name_output(graph, g.name_of(t.output), options.output_name);
  origins.resize(static_cast<std::size_t>(graph.node_size()), "the model's output");
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

// The example input with other values (and, for a dynamic batch, one more sample): a second
// trace on it must give the same graph, or the first one baked the example into constants.
Tensor other_input(const Tensor& x, bool dynamic_batch) {
  Shape shape = x.shape();
  const bool grow = dynamic_batch && !shape.empty() && shape[0] > 0;
  if (grow) ++shape[0];
  Tensor out = empty_tensor(shape);
  const std::size_t n = x.size();
  for (std::size_t i = 0; i < out.size(); ++i)
    out.data()[i] = x.data()[n == 0 ? 0 : i % n] * 0.5f + 0.25f + 0.125f * static_cast<float>(i % 5);
  return out;
}

std::string first_reader(const ::onnx::GraphProto& graph, const Origins& origins,
                         const std::string& value) {
  for (int i = 0; i < graph.node_size(); ++i)
    for (const auto& in : graph.node(i).input())
      if (in == value) return origins.at(static_cast<std::size_t>(i));
  return "the model's output";
}

// Throws when graph `b` (traced on other_input) differs from `a` (on the example): a node, a
// constant or the output's shape that depends on the example's values or batch size. The
// parameters and buffers (`b` holds their names only) are the same tensors in both.
void check_same_graph(const ::onnx::GraphProto& a, const Origins& origins,
                      const ::onnx::GraphProto& b, const nn::Module& model, bool dynamic_batch) {
  const std::string what = dynamic_batch ? "the example input's values or batch size"
                                         : "the example input's values";
  const std::string why =
      ": the traced graph would compute it from " + what + " instead of from the input. A "
      "value that leaves the graph (detach(), a read of .value() or .data() made into a new "
      "Variable, a Python-like loop over the batch) or a size taken from the batch (a sum or "
      "mean over dimension 0) cannot be exported";
  const int nodes = std::min(a.node_size(), b.node_size());
  for (int i = 0; i < nodes; ++i)
    if (a.node(i).SerializeAsString() != b.node(i).SerializeAsString())
      throw Error("export_onnx: " + origins.at(static_cast<std::size_t>(i)) + " differs between "
                  "two traced runs" + why + (dynamic_batch ? " with dynamic_batch" : "") + ".");
  if (a.node_size() != b.node_size())
    throw Error("export_onnx: the model ran " + std::to_string(a.node_size()) + " ops on the "
                "example and " + std::to_string(b.node_size()) + " on another input" + why + ".");
  std::unordered_set<std::string> parameters;
  for (const auto& [name, p] : model.named_parameters()) parameters.insert(name);
  for (const auto& [name, v] : model.named_buffers()) parameters.insert(name);
  std::map<std::string, std::string> constants;
  for (const auto& t : b.initializer()) constants[t.name()] = t.SerializeAsString();
  for (const auto& t : a.initializer()) {
    if (parameters.count(t.name())) continue;
    const auto it = constants.find(t.name());
    if (it == constants.end() || it->second != t.SerializeAsString())
      throw Error("export_onnx: the constant '" + t.name() + "' read by " +
                  first_reader(a, origins, t.name()) + " differs between two traced runs" + why +
                  ".");
  }
  if (a.output(0).SerializeAsString() != b.output(0).SerializeAsString())
    throw Error("export_onnx: the output's shape differs between two traced runs (batch " +
                std::string(dynamic_batch ? "size changed" : "kept") + ")" + why + ".");
}

// Initializers of at least this many bytes become external data (ONNX's size_threshold), each
// at an offset aligned for memory mapping.
constexpr std::size_t kExternalThreshold = 1024, kExternalAlignment = 4096;

// The external data file's name (beside the model) and each moved tensor's offset and bytes.
struct External {
  std::string location;
  std::vector<std::pair<std::uint64_t, std::string>> blobs;
};

void add_entry(::onnx::TensorProto& t, const char* key, const std::string& value) {
  auto& e = *t.add_external_data();
  e.set_key(key);
  e.set_value(value);
}

// ONNX's external data as onnx.save_model(model, path, save_as_external_data=True,
// all_tensors_to_one_file=True, location=<file name>.data) writes it: each large initializer's
// raw data moves out (no copy), the tensor keeps its name, type and dims and says where its
// bytes are (location relative to the model's folder, offset, length).
External move_to_external_data(::onnx::GraphProto& graph, const std::string& location) {
  External external{location, {}};
  std::uint64_t offset = 0;
  for (auto& t : *graph.mutable_initializer()) {
    if (t.raw_data().size() < kExternalThreshold) continue;
    offset = (offset + kExternalAlignment - 1) / kExternalAlignment * kExternalAlignment;
    const std::uint64_t length = t.raw_data().size();
    external.blobs.emplace_back(offset, std::move(*t.mutable_raw_data()));
    t.clear_raw_data();
    t.set_data_location(::onnx::TensorProto::EXTERNAL);
    add_entry(t, "location", location);
    add_entry(t, "offset", std::to_string(offset));
    add_entry(t, "length", std::to_string(length));
    offset += length;
  }
  return external;
}

// Whether `path` is written as a stream (a pipe, a device, /dev/stdout: see AtomicFile).
bool is_stream(const std::filesystem::path& path) {
  const std::filesystem::path target = nn::detail::resolve_links(path, "export_onnx");
  if (nn::detail::descriptor_path(target) >= 0) return true;
  struct stat st {};
  return ::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
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
  const Generator rng_before = default_generator();  // this thread's: random draws repeat below
  trace_forward(model, forward, example_input, t);
  const Generator rng_after = default_generator();
  ::onnx::ModelProto proto;
  proto.set_ir_version(8);  // ONNX 1.10+; opsets 13-17 all run under it
  proto.set_producer_name("tapegrad");
  proto.set_producer_version(TAPEGRAD_VERSION);
  auto& opset = *proto.add_opset_import();
  opset.set_domain("");
  opset.set_version(options.opset);
  Origins origins;
  build_graph(*proto.mutable_graph(), model, t, options, true, origins);
  {
    // The same forward on other values (and another batch size under dynamic_batch) must give
    // the same graph: what differs was read from the example, not computed from the input.
    Traced other;
    default_generator() = rng_before;
    try {
      trace_forward(model, forward, other_input(example_input, options.dynamic_batch), other);
    } catch (const Error& e) {
      default_generator() = rng_after;
      throw Error(std::string("export_onnx: the forward pass failed on a second input (the "
                              "example's values changed") +
                  (options.dynamic_batch ? ", one more sample" : "") +
                  "), which export runs to find values the graph would bake in: " + e.what());
    }
    default_generator() = rng_after;
    ::onnx::GraphProto graph;
    Origins unused;
    build_graph(graph, model, other, options, false, unused);
    check_same_graph(proto.graph(), origins, graph, model, options.dynamic_batch);
  }
  check(proto, path);
  std::size_t size = proto.ByteSizeLong();
  External external;
  if (size > detail::max_model_bytes) {
    // Protobuf cannot serialise a message over 2 GiB (it logs and returns nothing): the
    // weights go to a file beside the model, as ONNX's external data.
    TG_CHECK(!is_stream(path), "export_onnx: ", path.string(), ": a model of ", size,
             " bytes is over protobuf's 2 GiB limit on one ONNX file and needs its weights in a "
             "second file beside it (ONNX's external data), which a pipe or a device cannot "
             "have; export to a regular file");
    external = move_to_external_data(*proto.mutable_graph(), path.filename().string() + ".data");
    size = proto.ByteSizeLong();
    TG_CHECK(size <= detail::max_model_bytes, "export_onnx: ", path.string(), ": expected a "
             "model of at most ", detail::max_model_bytes, " bytes (protobuf's 2 GiB limit on "
             "one ONNX file) once its large initializers are external data, got ", size,
             " bytes; nothing was written (an earlier file is unchanged)");
  }
  std::string bytes;
  TG_CHECK(proto.SerializeToString(&bytes) && bytes.size() == size, "export_onnx: ",
           path.string(), ": protobuf could not serialise the ", size, "-byte model; nothing "
           "was written");
  if (!external.blobs.empty()) {
    // The data first: the model file that names it is replaced only once it is complete.
    nn::detail::AtomicFile data(path.parent_path() / external.location, "export_onnx");
    std::uint64_t at = 0;
    const std::string zeros(kExternalAlignment, '\0');
    for (const auto& [offset, blob] : external.blobs) {
      data.write(zeros.data(), offset - at);
      data.write(blob.data(), blob.size());
      at = offset + blob.size();
    }
    data.commit();
  }
  nn::detail::AtomicFile file(path, "export_onnx");
  file.write(bytes.data(), bytes.size());
  file.commit();
}

}  // namespace tg::onnx
