// Variable's LibTorch-style methods. Each forwards to the free function of the same name, so a
// method and its free function give the same values, gradients and op records.
#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <string_view>

#include "tapegrad/autograd/compare.hpp"
#include "tapegrad/autograd/elementwise.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/linalg.hpp"
#include "tapegrad/autograd/random.hpp"
#include "tapegrad/autograd/reduce.hpp"
#include "tapegrad/autograd/shape_ops.hpp"

namespace tg {

// ---- shape ----

Variable Variable::unsqueeze(std::int64_t dim) const { return tg::unsqueeze(*this, dim); }
Variable Variable::squeeze() const { return tg::squeeze(*this); }
Variable Variable::squeeze(std::int64_t dim) const { return tg::squeeze(*this, dim); }
Variable Variable::t() const { return tg::t(*this); }

std::int64_t Variable::size(std::int64_t dim) const {
  return static_cast<std::int64_t>(shape()[normalize_dim(dim, this->dim(), "size")]);
}

std::vector<std::int64_t> Variable::sizes() const {
  const Shape& s = shape();
  return std::vector<std::int64_t>(s.begin(), s.end());
}

// ---- reductions ----

namespace {
// Integer indices as a float tensor, with keepdim's size-1 dimension put back.
Variable indices(const Labels& best, const Shape& in, std::size_t dim, bool keepdim) {
  Shape shape = in;
  if (keepdim)
    shape[dim] = 1;
  else
    shape.erase(shape.begin() + std::ptrdiff_t(dim));
  Tensor out = empty_tensor(shape);
  for (std::size_t i = 0; i < best.size(); ++i) out.data()[i] = static_cast<float>(best.data()[i]);
  return Variable(std::move(out));
}

Variable flat_index(const Labels& best) { return Variable(filled(Shape{}, static_cast<float>(best(0)))); }

Tensor flattened(const Tensor& v) {
  Tensor f = v;
  f.reshape({v.size()});
  return f;
}
}  // namespace

Variable Variable::sum() const { return tg::sum(*this); }
Variable Variable::sum(std::int64_t dim, bool keepdim) const { return tg::sum(*this, dim, keepdim); }
Variable Variable::mean() const { return tg::mean(*this); }
Variable Variable::mean(std::int64_t dim, bool keepdim) const { return tg::mean(*this, dim, keepdim); }
Variable Variable::max() const { return tg::max(*this); }
Variable Variable::min() const { return tg::min(*this); }

std::tuple<Variable, Variable> Variable::max(std::int64_t dim, bool keepdim) const {
  const std::size_t d = normalize_dim(dim, this->dim(), "max");
  Variable values = tg::max(*this, dim, keepdim);
  return {values, indices(tg::argmax(value(), dim), shape(), d, keepdim)};
}

std::tuple<Variable, Variable> Variable::min(std::int64_t dim, bool keepdim) const {
  const std::size_t d = normalize_dim(dim, this->dim(), "min");
  Variable values = tg::min(*this, dim, keepdim);
  return {values, indices(tg::argmin(value(), dim), shape(), d, keepdim)};
}

Variable Variable::argmax() const {
  TG_CHECK(numel() > 0, "argmax: expected a non-empty tensor, got shape ", shape_str(shape()));
  return flat_index(tg::argmax(flattened(value()), 0));
}
Variable Variable::argmax(std::int64_t dim, bool keepdim) const {
  const std::size_t d = normalize_dim(dim, this->dim(), "argmax");
  return indices(tg::argmax(value(), dim), shape(), d, keepdim);
}
Variable Variable::argmin() const {
  TG_CHECK(numel() > 0, "argmin: expected a non-empty tensor, got shape ", shape_str(shape()));
  return flat_index(tg::argmin(flattened(value()), 0));
}
Variable Variable::argmin(std::int64_t dim, bool keepdim) const {
  const std::size_t d = normalize_dim(dim, this->dim(), "argmin");
  return indices(tg::argmin(value(), dim), shape(), d, keepdim);
}

Variable Variable::norm(float p) const { return tg::norm(*this, p); }
Variable Variable::norm(float p, std::int64_t dim, bool keepdim) const { return tg::norm(*this, p, dim, keepdim); }
Variable Variable::all() const { return tg::all(*this); }
Variable Variable::all(std::int64_t dim, bool keepdim) const { return tg::all(*this, dim, keepdim); }
Variable Variable::any() const { return tg::any(*this); }
Variable Variable::any(std::int64_t dim, bool keepdim) const { return tg::any(*this, dim, keepdim); }

// ---- elementwise ----

Variable Variable::pow(float p) const { return tg::pow(*this, p); }
Variable Variable::pow(const Variable& exponent) const { return tg::pow(*this, exponent); }
Variable Variable::sqrt() const { return tg::sqrt(*this); }
Variable Variable::exp() const { return tg::exp(*this); }
Variable Variable::log() const { return tg::log(*this); }
Variable Variable::abs() const { return tg::abs(*this); }
Variable Variable::clamp(float lo, float hi) const { return tg::clamp(*this, lo, hi); }
Variable Variable::clamp_min(float lo) const { return tg::clamp(*this, lo); }
Variable Variable::clamp_max(float hi) const {
  return tg::clamp(*this, -std::numeric_limits<float>::infinity(), hi);
}
Variable Variable::neg() const { return tg::neg(*this); }
Variable Variable::sigmoid() const { return tg::sigmoid(*this); }
Variable Variable::tanh() const { return tg::tanh(*this); }
Variable Variable::relu() const { return tg::relu(*this); }
Variable Variable::add(const Variable& other) const { return tg::add(*this, other); }
Variable Variable::add(float s) const { return tg::add(*this, s); }
Variable Variable::sub(const Variable& other) const { return tg::sub(*this, other); }
Variable Variable::sub(float s) const { return tg::add(*this, -s); }
Variable Variable::mul(const Variable& other) const { return tg::mul(*this, other); }
Variable Variable::mul(float s) const { return tg::mul(*this, s); }
Variable Variable::div(const Variable& other) const { return tg::div(*this, other); }
Variable Variable::div(float s) const { return *this / s; }

Variable Variable::mm(const Variable& other) const {
  TG_CHECK(dim() == 2 && other.dim() == 2, "mm: expected two matrices, got shapes ",
           shape_str(shape()), " and ", shape_str(other.shape()), "; use matmul for vectors and batches");
  return tg::matmul(*this, other);
}
Variable Variable::matmul(const Variable& other) const { return tg::matmul(*this, other); }

Variable Variable::eq(const CompareOperand& other) const { return tg::eq(*this, other); }
Variable Variable::ne(const CompareOperand& other) const { return tg::ne(*this, other); }
Variable Variable::lt(const CompareOperand& other) const { return tg::lt(*this, other); }
Variable Variable::le(const CompareOperand& other) const { return tg::le(*this, other); }
Variable Variable::gt(const CompareOperand& other) const { return tg::gt(*this, other); }
Variable Variable::ge(const CompareOperand& other) const { return tg::ge(*this, other); }

// ---- in place, on leaves ----

namespace {
// In-place writes are for leaves: a recorded result's value is read by backward rules.
Tensor& writable_leaf(const Variable& x, const char* op) {
  TG_CHECK(x.defined(), op, ": expected a defined variable, got an undefined one");
  TG_CHECK(x.is_leaf(), op, ": expected a leaf variable, got the result of ", x.op_name(),
           " which requires grad: an in-place write would corrupt its backward; write to a ",
           "detach()ed copy or to the leaf it came from");
  return x.node()->value;
}
}  // namespace

const Variable& Variable::fill_(float v) const {
  Tensor& t = writable_leaf(*this, "fill_");
  std::fill(t.data(), t.data() + t.size(), v);
  return *this;
}

const Variable& Variable::zero_() const {
  writable_leaf(*this, "zero_");
  return fill_(0.0f);
}

const Variable& Variable::uniform_(float from, float to) const {
  TG_CHECK(from <= to, "uniform_: expected from <= to, got from = ", from, ", to = ", to);
  Tensor& t = writable_leaf(*this, "uniform_");
  Generator& gen = default_generator();
  for (float& v : t) v = gen.uniform(from, to);
  return *this;
}

const Variable& Variable::normal_(float mean, float std) const {
  TG_CHECK(std >= 0.0f, "normal_: expected std >= 0, got ", std);
  Tensor& t = writable_leaf(*this, "normal_");
  Generator& gen = default_generator();
  for (float& v : t) v = mean + std * gen.normal();
  return *this;
}

const Variable& Variable::requires_grad_(bool requires_grad) const {
  Node& n = checked_node();
  TG_CHECK(n.op == nullptr, "requires_grad_: expected a leaf, got the result of ", n.op,
           "; use detach() to make a leaf");
  n.requires_grad = requires_grad;
  return *this;
}

GradFn Variable::grad_fn() const {
  const Node& n = checked_node();
  return n.op == nullptr ? GradFn() : GradFn(node_);
}

// ---- devices and dtypes ----

Device Variable::device() const { return Device(DeviceType::CPU); }
Variable Variable::to(const Device& device) const {
  check_cpu_device(device, "Variable::to");
  return *this;
}
Variable Variable::to(ScalarType dtype) const {
  check_float_dtype(dtype, "Variable::to");
  return *this;
}
Variable Variable::to(const Device& device, ScalarType dtype) const { return to(device).to(dtype); }
Variable Variable::cpu() const { return *this; }
Variable Variable::cuda() const {
  check_cpu_device(Device(DeviceType::CUDA), "Variable::cuda");
  return *this;
}

// ---- grad_fn names ----
//
// LibTorch's C++ names (1.13; its Scalar overloads differ from Python's: C++ `x + 2` is
// AddBackward1, Python's AddBackward0). tests/autograd/test_tensor_methods.cpp checks each row
// against LibTorch's own output for the same call.
//
// tapegrad op             LibTorch grad_fn
// add / sub / mul / div   AddBackward0 / SubBackward0 / MulBackward0 / DivBackward0
// add_scalar              AddBackward1        (x + 2; also x - 2, which LibTorch names SubBackward1)
// mul_scalar              MulBackward1        (x * 2; also x / 2 and -x, which LibTorch names
//                                              DivBackward1 and NegBackward0)
// rdiv                    DivBackward0        (2 / x)
// pow                     PowBackward0 (constant exponent), PowBackward1 (tensor exponent)
// exp log sqrt abs        ExpBackward0 LogBackward0 SqrtBackward0 AbsBackward0
// sigmoid tanh relu       SigmoidBackward0 TanhBackward0 ReluBackward0
// add_relu batch_norm_relu ReluBackward0      (tapegrad's fused relu(a + b), relu(bn(x)))
// leaky_relu              LeakyReluBackward0
// clamp                   ClampBackward1
// sum / sum_dim           SumBackward0 / SumBackward1
// mean / mean_dim         MeanBackward0 / MeanBackward1
// max / max_dim           MaxBackward1 / MaxBackward0
// min / min_dim           MinBackward1 / MinBackward0
// norm / norm_dim         NormBackward0 / NormBackward1
// view                    ViewBackward0       (also reshape, flatten, unsqueeze, squeeze, which
//                                              LibTorch names ViewBackward0 or
//                                              ReshapeAlias/Unsqueeze/SqueezeBackward0)
// permute                 PermuteBackward0    (also transpose and t: LibTorch's TransposeBackward0,
//                                              TBackward0)
// cat / slice             CatBackward0 / SliceBackward0 (slice also narrow)
// matmul                  MmBackward0 for two matrices, UnsafeViewBackward0 otherwise
// linear                  AddmmBackward0 (2-D input with bias), MmBackward0 (2-D, no bias),
//                         ViewBackward0 (more dimensions)
// conv2d                  ConvolutionBackward0
// max_pool2d              MaxPool2DWithIndicesBackward0
// avg_pool2d              AvgPool2DBackward0
// adaptive_avg_pool2d     MeanBackward1 for a 1x1 output, AdaptiveAvgPool2DBackward0 otherwise
// batch_norm              NativeBatchNormBackward0
// softmax / log_softmax   SoftmaxBackward0 / LogSoftmaxBackward0
// dropout                 MulBackward0
// cross_entropy, nll_loss NllLossBackward0
// mse_loss                MseLossBackward0
// binary_cross_entropy_with_logits  BinaryCrossEntropyWithLogitsBackward0
// any other op "foo_bar"  FooBarBackward0
namespace {

std::string camel_backward(std::string_view op) {
  std::string out;
  bool upper = true;
  for (char c : op) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out + "Backward0";
}

}  // namespace

std::string GradFn::name() const {
  TG_CHECK(node_ != nullptr, "grad_fn: a leaf has no grad_fn (grad_fn() is null)");
  static const std::map<std::string_view, const char*> fixed{
      {"add", "AddBackward0"}, {"add_scalar", "AddBackward1"}, {"sub", "SubBackward0"},
      {"mul", "MulBackward0"}, {"mul_scalar", "MulBackward1"}, {"div", "DivBackward0"},
      {"rdiv", "DivBackward0"}, {"exp", "ExpBackward0"}, {"log", "LogBackward0"},
      {"sqrt", "SqrtBackward0"}, {"abs", "AbsBackward0"}, {"sigmoid", "SigmoidBackward0"},
      {"tanh", "TanhBackward0"}, {"relu", "ReluBackward0"}, {"add_relu", "ReluBackward0"},
      {"batch_norm_relu", "ReluBackward0"}, {"leaky_relu", "LeakyReluBackward0"},
      {"clamp", "ClampBackward1"}, {"sum", "SumBackward0"}, {"sum_dim", "SumBackward1"},
      {"mean", "MeanBackward0"}, {"mean_dim", "MeanBackward1"}, {"max", "MaxBackward1"},
      {"max_dim", "MaxBackward0"}, {"min", "MinBackward1"}, {"min_dim", "MinBackward0"},
      {"norm", "NormBackward0"}, {"norm_dim", "NormBackward1"}, {"view", "ViewBackward0"},
      {"permute", "PermuteBackward0"}, {"cat", "CatBackward0"}, {"slice", "SliceBackward0"},
      {"conv2d", "ConvolutionBackward0"}, {"max_pool2d", "MaxPool2DWithIndicesBackward0"},
      {"avg_pool2d", "AvgPool2DBackward0"}, {"batch_norm", "NativeBatchNormBackward0"},
      {"softmax", "SoftmaxBackward0"}, {"log_softmax", "LogSoftmaxBackward0"},
      {"dropout", "MulBackward0"}, {"cross_entropy", "NllLossBackward0"},
      {"nll_loss", "NllLossBackward0"}, {"mse_loss", "MseLossBackward0"},
      {"binary_cross_entropy_with_logits", "BinaryCrossEntropyWithLogitsBackward0"},
  };
  const std::string_view op = node_->op;
  // The names that depend on the inputs read them while the graph is there; after a backward
  // freed it (inputs cleared), the common case's name is given.
  const auto& in = node_->inputs;
  const bool have_inputs = !in.empty();
  auto rank = [&](std::size_t i) { return i < in.size() && in[i] ? in[i]->value.dimension() : 2; };
  if (op == "pow") return in.size() == 2 ? "PowBackward1" : "PowBackward0";
  if (op == "matmul") return rank(0) == 2 && rank(1) == 2 ? "MmBackward0" : "UnsafeViewBackward0";
  if (op == "linear") {
    if (rank(0) != 2) return "ViewBackward0";
    return !have_inputs || (in.size() > 2 && in[2]) ? "AddmmBackward0" : "MmBackward0";
  }
  if (op == "adaptive_avg_pool2d") {
    const Shape& s = node_->value.shape();
    return s.size() == 4 && s[2] == 1 && s[3] == 1 ? "MeanBackward1" : "AdaptiveAvgPool2DBackward0";
  }
  if (auto it = fixed.find(op); it != fixed.end()) return it->second;
  return camel_backward(op);
}

}  // namespace tg
