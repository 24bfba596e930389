#include "tapegrad/deploy/lower.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "tapegrad/autograd/error.hpp"

namespace tg::onnx::detail {

namespace {

using Ints = std::vector<std::int64_t>;

// One op being lowered: its inputs' names, its scope, and where its result goes.
struct Lowering {
  GraphBuilder& g;
  const TracedOp& op;
  const BufferNames& buffers;
  std::string scope;

  std::string in(std::size_t i) const { return g.name_of(op.inputs.at(i)); }
  bool has_input(std::size_t i) const { return i < op.inputs.size() && op.inputs[i].defined(); }
  const Shape& in_shape(std::size_t i) const { return op.inputs.at(i).shape(); }
  const Shape& out_shape() const { return op.output.shape(); }
  ::onnx::NodeProto& node(const std::string& type, const std::vector<std::string>& inputs) {
    return g.node(type, inputs, scope);
  }
  // The op's result is the first output of `n`.
  void result(const ::onnx::NodeProto& n) { g.set_output(op.output, n.output(0)); }
  // `type` applied to the output of `n`: the second node of a fused op (batch_norm_relu).
  ::onnx::NodeProto& then(const ::onnx::NodeProto& n, const std::string& type) {
    return node(type, {n.output(0)});
  }
  [[noreturn]] void unsupported(const std::string& why) const {
    throw Error(::tg::detail::concat("export_onnx: ", op.op, " ", op.where(), " has no ONNX form: ",
                                     why));
  }
};

std::int64_t dim_of(const Shape& s, std::size_t d) { return static_cast<std::int64_t>(s.at(d)); }

// Elementwise ops that map one to one onto an ONNX op with the same inputs.
void direct(Lowering& l, const char* type) {
  std::vector<std::string> inputs;
  for (std::size_t i = 0; i < l.op.inputs.size(); ++i) inputs.push_back(l.in(i));
  l.result(l.node(type, inputs));
}

void conv2d(Lowering& l) {
  std::vector<std::string> inputs{l.in(0), l.in(1)};
  if (l.has_input(2)) inputs.push_back(l.in(2));
  auto& n = l.node("Conv", inputs);
  const Shape& w = l.in_shape(1);
  set_ints(n, "kernel_shape", {dim_of(w, 2), dim_of(w, 3)});
  set_ints(n, "strides", l.op.ints_attr("strides"));
  set_ints(n, "pads", l.op.ints_attr("pads"));
  set_ints(n, "dilations", l.op.ints_attr("dilations"));
  set_int(n, "group", l.op.int_attr("groups"));
  l.result(n);
}

// Pads that give a floor-mode ONNX pooling exactly the op's output size: the op's own at the
// start, and at the end what the last window needs. This writes PyTorch's ceil_mode (whose
// last window must start inside the input or its left padding, a rule ONNX's ceil_mode lacks)
// without the ceil_mode attribute; the extra end padding is never counted (max ignores it,
// averages here never count it) and stays below the kernel size.
Ints pool_pads(Lowering& l, const Shape& in, const Ints& begin) {
  const Ints& k = l.op.ints_attr("kernel");
  const Ints& s = l.op.ints_attr("strides");
  Ints pads{begin[0], begin[1], 0, 0};
  for (std::size_t a = 0; a < 2; ++a) {
    const std::int64_t out = dim_of(l.out_shape(), 2 + a);
    pads[2 + a] = std::max<std::int64_t>(0, (out - 1) * s[a] + k[a] - dim_of(in, 2 + a) - begin[a]);
  }
  return pads;
}

// A pooling node over `input` (of shape `in`) with the op's window, padded `begin` at the start.
::onnx::NodeProto& pool(Lowering& l, const char* type, const std::string& input, const Shape& in,
                        const Ints& begin) {
  if (in.size() != 4) l.unsupported("ONNX pools [N, C, H, W] inputs only, got " + shape_str(in));
  auto& n = l.node(type, {input});
  set_ints(n, "kernel_shape", l.op.ints_attr("kernel"));
  set_ints(n, "strides", l.op.ints_attr("strides"));
  set_ints(n, "pads", pool_pads(l, in, begin));
  return n;
}

Ints begin_pads(const Lowering& l) { return {l.op.ints_attr("pads")[0], l.op.ints_attr("pads")[1]}; }

void max_pool2d(Lowering& l) { l.result(pool(l, "MaxPool", l.in(0), l.in_shape(0), begin_pads(l))); }

// min over a window = -max(-x).
void min_pool2d(Lowering& l) {
  auto& neg = l.node("Neg", {l.in(0)});
  l.result(l.then(pool(l, "MaxPool", neg.output(0), l.in_shape(0), begin_pads(l)), "Neg"));
}

// Padding that counts is written as zeros (a Pad node) pooled without counted padding: exactly
// PyTorch's divisor, windows running past the padded edge included, and the form every
// runtime agrees on (OpenCV 4.6 ignores count_include_pad).
void avg_pool2d(Lowering& l) {
  const Ints p = begin_pads(l);
  if (l.op.int_attr("count_include_pad") == 0 || (p[0] == 0 && p[1] == 0)) {
    auto& n = pool(l, "AveragePool", l.in(0), l.in_shape(0), p);
    set_int(n, "count_include_pad", 0);
    return l.result(n);
  }
  Shape padded = l.in_shape(0);
  if (padded.size() == 4) padded[2] += 2 * p[0], padded[3] += 2 * p[1];
  auto& pad = l.node("Pad", {l.in(0), l.g.int64s({0, 0, p[0], p[1], 0, 0, p[0], p[1]}, l.scope + "/pads")});
  l.result(pool(l, "AveragePool", pad.output(0), padded, {0, 0}));
}

// Global average pooling when the output is 1x1; fixed windows when it divides the input.
void adaptive_avg_pool2d(Lowering& l) {
  const Shape& xs = l.in_shape(0);
  if (xs.size() != 4) l.unsupported("ONNX pools [N, C, H, W] inputs only, got " + shape_str(xs));
  const Ints& o = l.op.ints_attr("output_size");
  if (o[0] == 1 && o[1] == 1) return l.result(l.node("GlobalAveragePool", {l.in(0)}));
  const std::int64_t h = dim_of(xs, 2), w = dim_of(xs, 3);
  if (h % o[0] != 0 || w % o[1] != 0)
    l.unsupported(::tg::detail::concat("output ", o[0], "x", o[1], " does not divide the input ",
                                       shape_str(xs), " (ONNX pools with fixed windows)"));
  auto& n = l.node("AveragePool", {l.in(0)});
  set_ints(n, "kernel_shape", {h / o[0], w / o[1]});
  set_ints(n, "strides", {h / o[0], w / o[1]});
  l.result(n);
}

// A running statistic: its state-dict name when a module owns it, else a constant.
std::string statistic(Lowering& l, const char* name) {
  const auto* t = std::get_if<const Tensor*>(&l.op.attribute(name));
  TG_ASSERT(t != nullptr && *t != nullptr, "export_onnx: batch_norm without ", name);
  auto it = l.buffers.find(*t);
  return it != l.buffers.end() ? it->second : l.g.constant(**t, name);
}

::onnx::NodeProto& batch_norm_node(Lowering& l) {
  if (l.op.int_attr("training") != 0)
    l.unsupported("it normalises with the batch's statistics (training mode, or a BatchNorm "
                  "without running statistics); export a model in eval mode with tracked statistics");
  const std::size_t c = l.in_shape(0).at(1);
  const std::string scale = l.has_input(1) ? l.in(1) : l.g.constant(filled(Shape{c}, 1.0f), "ones");
  const std::string bias = l.has_input(2) ? l.in(2) : l.g.constant(filled(Shape{c}, 0.0f), "zeros");
  auto& n = l.node("BatchNormalization",
                   {l.in(0), scale, bias, statistic(l, "running_mean"), statistic(l, "running_var")});
  set_float(n, "epsilon", l.op.float_attr("eps"));
  return n;
}

void batch_norm(Lowering& l) { l.result(batch_norm_node(l)); }
void batch_norm_relu(Lowering& l) { l.result(l.then(batch_norm_node(l), "Relu")); }

void add_relu(Lowering& l) { l.result(l.then(l.node("Add", {l.in(0), l.in(1)}), "Relu")); }

// x op constant: add_scalar, mul_scalar, pow with a float exponent.
void with_scalar(Lowering& l, const char* type, const char* attr) {
  l.result(l.node(type, {l.in(0), l.g.scalar(l.op.float_attr(attr), l.scope + "/" + attr)}));
}

void mul_scalar(Lowering& l) {
  if (l.op.float_attr("value") == -1.0f) return l.result(l.node("Neg", {l.in(0)}));
  with_scalar(l, "Mul", "value");
}

void rdiv(Lowering& l) {
  l.result(l.node("Div", {l.g.scalar(l.op.float_attr("value"), l.scope + "/value"), l.in(0)}));
}

void pow(Lowering& l) {
  if (l.op.inputs.size() == 2) return direct(l, "Pow");
  with_scalar(l, "Pow", "exponent");
}

void leaky_relu(Lowering& l) {
  auto& n = l.node("LeakyRelu", {l.in(0)});
  set_float(n, "alpha", l.op.float_attr("negative_slope"));
  l.result(n);
}

// Clip's bounds are optional inputs: an empty name leaves that side open.
void clamp(Lowering& l) {
  const float lo = l.op.float_attr("min"), hi = l.op.float_attr("max");
  l.result(l.node("Clip", {l.in(0), std::isinf(lo) ? "" : l.g.scalar(lo, l.scope + "/min"),
                           std::isinf(hi) ? "" : l.g.scalar(hi, l.scope + "/max")}));
}

// [N, ...] -> [N, rest] is Flatten (what OpenCV and every runtime know best); other shapes are a
// Reshape whose first entry is 0 ("keep the input's") when the batch size is kept, so that
// a dynamic batch still works.
void view(Lowering& l) {
  const Shape& in = l.in_shape(0);
  const Shape& out = l.out_shape();
  const bool keeps_batch = !in.empty() && !out.empty() && in[0] == out[0];
  if (keeps_batch && out.size() == 2 && in.size() >= 2) {
    auto& n = l.node("Flatten", {l.in(0)});
    set_int(n, "axis", 1);
    return l.result(n);
  }
  Ints shape;
  for (std::size_t d : out) shape.push_back(static_cast<std::int64_t>(d));
  if (keeps_batch) shape[0] = 0;
  l.result(l.node("Reshape", {l.in(0), l.g.int64s(shape, l.scope + "/shape")}));
}

void permute(Lowering& l) {
  Ints perm = l.op.ints_attr("dims");
  const auto rank = static_cast<std::int64_t>(l.in_shape(0).size());
  for (auto& d : perm) d = d < 0 ? d + rank : d;
  auto& n = l.node("Transpose", {l.in(0)});
  set_ints(n, "perm", perm);
  l.result(n);
}

void cat(Lowering& l) {
  std::vector<std::string> inputs;
  for (std::size_t i = 0; i < l.op.inputs.size(); ++i) inputs.push_back(l.in(i));
  auto& n = l.node("Concat", inputs);
  set_int(n, "axis", l.op.int_attr("dim"));
  l.result(n);
}

void slice(Lowering& l) {
  const std::string s = l.scope + "/slice";
  l.result(l.node("Slice", {l.in(0), l.g.int64s({l.op.int_attr("start")}, s),
                            l.g.int64s({l.op.int_attr("end")}, s), l.g.int64s({l.op.int_attr("dim")}, s),
                            l.g.int64s({l.op.int_attr("step")}, s)}));
}

void softmax(Lowering& l, const char* type) {
  auto& n = l.node(type, {l.in(0)});
  set_int(n, "axis", l.op.int_attr("dim"));
  l.result(n);
}

// x @ W^T + b: Gemm for [N, in] inputs; MatMul with W transposed (and Add) for [..., in].
void linear(Lowering& l) {
  if (l.in_shape(0).size() == 2) {
    std::vector<std::string> inputs{l.in(0), l.in(1)};
    if (l.has_input(2)) inputs.push_back(l.in(2));
    auto& n = l.node("Gemm", inputs);
    set_int(n, "transB", 1);
    return l.result(n);
  }
  auto& wt = l.node("Transpose", {l.in(1)});
  set_ints(wt, "perm", {1, 0});
  auto& mm = l.node("MatMul", {l.in(0), wt.output(0)});
  l.result(l.has_input(2) ? l.node("Add", {mm.output(0), l.in(2)}) : mm);
}

// Reductions over everything (no axes, keepdims 0) or along one dim (axes as an attribute).
void reduce(Lowering& l, const char* type) {
  const bool along = l.op.op.ends_with("_dim");
  auto& n = l.node(type, {l.in(0)});
  if (along) set_ints(n, "axes", {l.op.int_attr("dim")});
  set_int(n, "keepdims", along ? l.op.int_attr("keepdim") : 0);
  l.result(n);
}

// A sum along a dim as ReduceMean times the length: opset 13 moved ReduceSum's axes into an
// input, which OpenCV 4.6 cannot read; ReduceMean kept the attribute until opset 18.
void sum_dim(Lowering& l) {
  auto& mean = l.node("ReduceMean", {l.in(0)});
  set_ints(mean, "axes", {l.op.int_attr("dim")});
  set_int(mean, "keepdims", l.op.int_attr("keepdim"));
  const auto n = static_cast<float>(l.in_shape(0).at(static_cast<std::size_t>(l.op.int_attr("dim"))));
  l.result(l.node("Mul", {mean.output(0), l.g.scalar(n, l.scope + "/length")}));
}

using LowerFn = std::function<void(Lowering&)>;

const std::map<std::string, LowerFn>& table() {
  static const std::map<std::string, LowerFn> t{
      {"conv2d", conv2d}, {"max_pool2d", max_pool2d}, {"min_pool2d", min_pool2d},
      {"avg_pool2d", avg_pool2d}, {"adaptive_avg_pool2d", adaptive_avg_pool2d},
      {"batch_norm", batch_norm}, {"batch_norm_relu", batch_norm_relu},
      {"relu", [](Lowering& l) { direct(l, "Relu"); }},
      {"sigmoid", [](Lowering& l) { direct(l, "Sigmoid"); }},
      {"tanh", [](Lowering& l) { direct(l, "Tanh"); }},
      {"exp", [](Lowering& l) { direct(l, "Exp"); }},
      {"log", [](Lowering& l) { direct(l, "Log"); }},
      {"sqrt", [](Lowering& l) { direct(l, "Sqrt"); }},
      {"abs", [](Lowering& l) { direct(l, "Abs"); }},
      {"add", [](Lowering& l) { direct(l, "Add"); }},
      {"sub", [](Lowering& l) { direct(l, "Sub"); }},
      {"mul", [](Lowering& l) { direct(l, "Mul"); }},
      {"div", [](Lowering& l) { direct(l, "Div"); }},
      {"matmul", [](Lowering& l) { direct(l, "MatMul"); }},
      {"add_relu", add_relu}, {"add_scalar", [](Lowering& l) { with_scalar(l, "Add", "value"); }},
      {"mul_scalar", mul_scalar}, {"rdiv", rdiv}, {"pow", pow}, {"leaky_relu", leaky_relu},
      {"clamp", clamp}, {"view", view}, {"permute", permute}, {"cat", cat}, {"slice", slice},
      {"softmax", [](Lowering& l) { softmax(l, "Softmax"); }},
      {"log_softmax", [](Lowering& l) { softmax(l, "LogSoftmax"); }},
      {"linear", linear},
      {"sum", [](Lowering& l) { reduce(l, "ReduceSum"); }}, {"sum_dim", sum_dim},
      {"max", [](Lowering& l) { reduce(l, "ReduceMax"); }},
      {"max_dim", [](Lowering& l) { reduce(l, "ReduceMax"); }},
      {"min", [](Lowering& l) { reduce(l, "ReduceMin"); }},
      {"min_dim", [](Lowering& l) { reduce(l, "ReduceMin"); }},
      {"mean", [](Lowering& l) { reduce(l, "ReduceMean"); }},
      {"mean_dim", [](Lowering& l) { reduce(l, "ReduceMean"); }},
  };
  return t;
}

// "ResNetCifar.layer1.0.conv1 (Conv2d)" -> "ResNetCifar.layer1.0.conv1": node names.
std::string scope_of(const std::string& module_path) {
  return module_path.substr(0, module_path.find(" ("));
}

}  // namespace

bool has_onnx_form(const std::string& op) { return table().count(op) != 0; }

void lower(GraphBuilder& graph, const TracedOp& op, const BufferNames& buffers) {
  Lowering l{graph, op, buffers, scope_of(op.module_path)};
  auto it = table().find(op.op);
  if (it == table().end()) {
    l.unsupported(op.op == "dropout"
                      ? std::string("dropout in training mode is random; export runs Dropout "
                                    "modules in eval mode, pass training=false to tg::dropout")
                      : "ONNX export supports the layers of a CNN (see tapegrad/deploy/export.hpp); "
                        "losses and other ops are not exported");
  }
  it->second(l);
}

}  // namespace tg::onnx::detail
