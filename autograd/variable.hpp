#pragma once
// tg::Variable: a shared handle to one node of the dynamic graph (its value, its gradient, and
// the rule that sends a gradient back to the node's inputs). Ops record nodes with record_op.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "tapegrad/autograd/tensor.hpp"
#include "tapegrad/autograd/tensor_options.hpp"

namespace tg {

struct Node;
/// A shared handle to a node of the graph (what Variable holds).
using NodePtr = std::shared_ptr<Node>;
/// One tensor per input of an op: what a first-order backward rule returns.
using TensorList = std::vector<Tensor>;

/// What a backward rule may read: the inputs' and the output's values, and which inputs need a
/// gradient. It holds references into the graph, valid only during the call.
class BackwardCtx {
 public:
  /// The context of `node`'s rule (the engine makes it).
  BackwardCtx(const Node& node) : node_(node) {}
  /// Whether input i needs a gradient (return an empty Tensor for it when not).
  bool needs(std::size_t i) const;
  /// The value input i had when the op ran.
  const Tensor& input(std::size_t i) const;
  /// The op's own result.
  const Tensor& output() const;
  /// How many inputs the op has.
  std::size_t num_inputs() const;

 private:
  const Node& node_;
};

/// dLoss/dOutput as a backward rule receives it. Usually the engine's own buffer, which the rule
/// may update in place and pass on; at the root of `y.backward(gy)` it is the caller's `gy`,
/// which a rule that only reads its gradient (conv, pooling, batch norm, relu) reads through
/// get() without the copy that taking it costs. A rule written with a `Tensor` parameter takes
/// it implicitly.
class GradOutput {
 public:
  /// A gradient the rule owns (and may update in place).
  GradOutput(Tensor owned) : owned_(std::move(owned)) {}
  /// The caller's gradient, read in place (a rule that needs to own it takes a copy).
  static GradOutput borrow(const Tensor& caller_gradient) { return GradOutput(&caller_gradient); }

  /// The gradient, read-only.
  const Tensor& get() const { return borrowed_ ? *borrowed_ : *owned_; }
  /// Whether the rule owns it (else it is the caller's, borrowed).
  bool owned() const { return borrowed_ == nullptr; }
  /// The gradient as a tensor the rule owns: moved out, or copied from the caller's.
  Tensor take() &&;
  /// take(), implicitly: a rule written with a `Tensor` parameter receives it this way.
  operator Tensor() && { return std::move(*this).take(); }

 private:
  explicit GradOutput(const Tensor* borrowed) : borrowed_(borrowed) {}
  std::optional<Tensor> owned_;
  const Tensor* borrowed_ = nullptr;
};

/// Given dLoss/dOutput, returns dLoss/dInput_i for every input (empty where !ctx.needs(i)).
/// Capture only what the inputs and output cannot give (masks, indices, statistics).
using BackwardFn = std::function<TensorList(GradOutput grad_output, const BackwardCtx& ctx)>;
/// A backward rule's result, each gradient moved in (`return {std::move(g)};` would copy every
/// tensor: an initializer list's elements are const).
template <class... Grads>
TensorList grad_list(Grads&&... grads) {
  TensorList out;
  out.reserve(sizeof...(grads));
  (out.push_back(std::forward<Grads>(grads)), ...);
  return out;
}

class Variable;
class GraphCtx;
/// A backward rule written with Variable ops, so that the gradient it returns is itself
/// recorded on the tape and can be differentiated again (autograd::grad with create_graph).
/// Given dLoss/dOutput as a Variable, returns dLoss/dInput_i for every input (undefined where
/// !ctx.needs(i)). An op sets it beside its first-order rule with with_double_backward().
using GraphBackwardFn = std::function<std::vector<Variable>(const Variable& grad_output, const GraphCtx& ctx)>;

/// Sees, and may replace, the gradient flowing into a variable.
using GradHook = std::function<void(Tensor& grad)>;

/// One node of the graph. Users hold it through Variable; ops create it through record_op.
struct Node {
  Tensor value;                ///< the op's result (or the leaf's value)
  std::optional<Tensor> grad;  ///< accumulated dLoss/dValue (leaves and retain_grad only)
  NodePtr grad_graph;          ///< the same gradient with its graph, after a create_graph backward
  bool requires_grad = false;  ///< whether backward sends a gradient here
  bool retains_grad = false;   ///< a non-leaf that keeps its .grad (retain_grad())
  bool released = false;       ///< its backward ran and its graph was freed
  const char* op = nullptr;    ///< the op's name; nullptr for a leaf
  std::vector<NodePtr> inputs;     ///< the op's inputs, in order
  BackwardFn backward;             ///< the first-order rule
  GraphBackwardFn graph_backward;  ///< the same rule in Variable ops; empty: no double backward
  std::vector<GradHook> hooks;     ///< register_hook's callables, run in order
  /// Set by an op that can apply a following ReLU to its own output in place and fold the mask
  /// into its backward rule (batch_norm, same-shape add). relu() calls it when it holds the only
  /// handle to this node, so user code gets the fused kernels without asking for them.
  void (*absorb_relu)(Node&) = nullptr;
  std::uint64_t visit_epoch = 0;  ///< the engine's mark for one backward pass
  std::optional<Tensor> pending;  ///< gradient gathered so far during one backward pass

  /// A node holding `v` (built in place: a default xarray would allocate only to be discarded).
  explicit Node(Tensor v) : value(std::move(v)) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();  // dismantles long input chains iteratively (no deep recursion)
};

/// What Variable::grad_fn() returns: a pointer-like view of the node that made a variable
/// (LibTorch's std::shared_ptr<Node>), null for a leaf, so that `y.grad_fn()->name()` and
/// `if (y.grad_fn())` read as they do in LibTorch.
class GradFn {
 public:
  /// A null grad_fn (a leaf's).
  GradFn() = default;
  /// The grad_fn of the node `node` (null when the node is a leaf).
  explicit GradFn(NodePtr node) : node_(std::move(node)) {}
  /// The op's name in LibTorch's style ("MulBackward0", "AddmmBackward0"); tapegrad's own op
  /// name is Variable::op_name(). The table of names is in autograd/tensor_methods.cpp.
  std::string name() const;
  /// Pointer syntax, as on LibTorch's std::shared_ptr<Node>: `y.grad_fn()->name()`.
  const GradFn* operator->() const { return this; }
  /// Whether there is a node (false for a leaf).
  explicit operator bool() const { return node_ != nullptr; }
  /// Whether this is a leaf's null grad_fn.
  friend bool operator==(const GradFn& f, std::nullptr_t) { return f.node_ == nullptr; }

 private:
  NodePtr node_;
};

class CompareOperand;

/// Options of Variable::backward.
struct BackwardOptions {
  bool retain_graph = false;  ///< keep the graph so that backward can run through it again
  /// Record the gradients themselves on the tape (PyTorch's create_graph): grad_variable() of
  /// each leaf can then be differentiated again. Implies retain_graph.
  bool create_graph = false;
};

/// A differentiable value. Copies alias the same node, like torch::Tensor.
class Variable {
 public:
  /// An undefined variable (defined() is false), e.g. a module member set later.
  Variable() = default;
  /// A leaf holding `value`.
  Variable(Tensor value, bool requires_grad = false);
  /// A handle to an existing node of the graph.
  explicit Variable(NodePtr node) : node_(std::move(node)) {}

  /// Whether it holds a node (false for a default-constructed Variable).
  bool defined() const { return node_ != nullptr; }
  /// The value; throws tg::Error on an undefined Variable.
  const Tensor& value() const;
  /// The value, writable (optimizers update parameters in place).
  Tensor& value();
  /// dLoss/dThis, accumulated over backward calls; throws when there is none yet.
  const Tensor& grad() const;
  /// The gradient, writable (optimizers and clipping change it in place).
  Tensor& grad();
  /// Whether a gradient has been accumulated (and not dropped by zero_grad()).
  bool has_grad() const;
  /// The value's shape.
  const Shape& shape() const { return value().shape(); }
  /// The number of dimensions.
  std::size_t dim() const { return value().dimension(); }
  /// The number of elements.
  std::size_t numel() const { return value().size(); }
  /// The one element's value; throws for tensors of more than one element.
  float item() const;

  /// Whether backward computes a gradient for it (a leaf marked so, or an op on one).
  bool requires_grad() const;
  /// Only for leaves: whether backward computes this variable's gradient.
  void set_requires_grad(bool requires_grad);
  /// Whether it was made by the user rather than by an op.
  bool is_leaf() const;
  /// Name of the op that made this variable ("mul", "conv2d"...), or "leaf".
  const char* op_name() const;
  /// The accumulated gradient as a Variable: after `backward({.create_graph = true})` it carries
  /// the graph that computed it (LibTorch's `x.grad()` after create_graph), otherwise a
  /// constant. Throws when there is no gradient yet.
  Variable grad_variable() const;
  /// Drops the gradient (PyTorch's set_to_none).
  void zero_grad();
  /// A leaf with the same value, cut off from the graph.
  Variable detach() const;
  /// Makes a non-leaf keep its gradient in grad() (leaves always do).
  void retain_grad();

  /// Backpropagates from a one-element variable (gradient 1).
  void backward(BackwardOptions options = {}) const;
  /// Backpropagates `grad_output`, which must have this variable's shape. (A template only so
  /// that `backward({.retain_graph = true})` is not ambiguous with a braced tensor.)
  template <class T>
    requires std::convertible_to<const T&, Tensor>
  void backward(const T& grad_output, BackwardOptions options = {}) const {
    if constexpr (std::is_same_v<T, Tensor>)
      backward_from(grad_output, options);
    else
      backward_from(Tensor(grad_output), options);
  }

  /// fn(Tensor& grad) observes or replaces the gradient flowing into this variable; a callable
  /// returning a Tensor replaces it, like a PyTorch hook returning a value.
  template <class Fn>
  void register_hook(Fn fn) {
    if constexpr (returns_tensor<Fn>())
      add_hook([fn = std::move(fn)](Tensor& g) mutable { g = fn(static_cast<const Tensor&>(g)); });
    else
      add_hook([fn = std::move(fn)](Tensor& g) mutable { fn(g); });
  }

  /// Same elements, new shape; one dimension may be -1.
  Variable view(const std::vector<std::int64_t>& shape) const;
  /// view(shape).
  Variable reshape(const std::vector<std::int64_t>& shape) const { return view(shape); }
  /// Merges dimensions start_dim..end_dim (default: all from 1 on, keeping the batch).
  Variable flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) const;
  /// Dimensions dim0 and dim1 swapped (a copy).
  Variable transpose(std::int64_t dim0, std::int64_t dim1) const;
  /// Dimensions reordered: result dimension d is input dimension dims[d] (a copy).
  Variable permute(const std::vector<std::int64_t>& dims) const;

  // ---- LibTorch's tensor methods (autograd/tensor_methods.cpp): each calls the free function
  // of the same name, so results and gradients are those of the free functions. ----

  /// The same elements as a 1-D shape of `size` (-1 allowed): LibTorch's `x.view(-1)`.
  Variable view(std::int64_t size) const { return view(std::vector<std::int64_t>{size}); }
  /// The same as view(size).
  Variable reshape(std::int64_t size) const { return view(size); }
  /// Inserts a dimension of size 1 at `dim` (in [-dim()-1, dim()]).
  Variable unsqueeze(std::int64_t dim) const;
  /// Removes every dimension of size 1.
  Variable squeeze() const;
  /// Removes dimension `dim` when its size is 1 (otherwise returns the same shape, as LibTorch).
  Variable squeeze(std::int64_t dim) const;
  /// The transpose of a matrix (0-d and 1-D tensors are returned as they are); throws
  /// tg::Error for more than 2 dimensions.
  Variable t() const;
  /// Size of dimension `dim`; negative counts from the end (`x.size(-1)`).
  std::int64_t size(std::int64_t dim) const;
  /// The sizes as LibTorch's `x.sizes()` gives them.
  std::vector<std::int64_t> sizes() const;

  /// Sum of all elements (0-d).
  Variable sum() const;
  /// Sum along `dim`.
  Variable sum(std::int64_t dim, bool keepdim = false) const;
  /// Mean of all elements (0-d).
  Variable mean() const;
  /// Mean along `dim`.
  Variable mean(std::int64_t dim, bool keepdim = false) const;
  /// Largest element (0-d); the gradient goes to the first maximum.
  Variable max() const;
  /// (values, indices) of the largest elements along `dim`, as LibTorch's std::tuple; the
  /// indices are a float tensor of integers (first maximum; NaN counts as largest).
  std::tuple<Variable, Variable> max(std::int64_t dim, bool keepdim = false) const;
  /// Smallest element (0-d); the gradient goes to the first minimum.
  Variable min() const;
  /// (values, indices) of the smallest elements along `dim`.
  std::tuple<Variable, Variable> min(std::int64_t dim, bool keepdim = false) const;
  /// Index of the first largest element of the flattened tensor (0-d float tensor).
  Variable argmax() const;
  /// Indices of the first largest elements along `dim`, as a float tensor of integers (exact
  /// below 2^24). Not differentiable.
  Variable argmax(std::int64_t dim, bool keepdim = false) const;
  /// Index of the first smallest element of the flattened tensor.
  Variable argmin() const;
  /// Indices of the first smallest elements along `dim`.
  Variable argmin(std::int64_t dim, bool keepdim = false) const;
  /// The p-norm of all elements, (sum |x|^p)^(1/p); gradient 0 where the norm is 0.
  Variable norm(float p = 2.0f) const;
  /// The p-norm along `dim`.
  Variable norm(float p, std::int64_t dim, bool keepdim = false) const;
  /// 1 if every element is non-zero, else 0 (0-d; LibTorch returns a bool tensor).
  Variable all() const;
  /// all() along `dim`.
  Variable all(std::int64_t dim, bool keepdim = false) const;
  /// 1 if any element is non-zero, else 0 (0-d).
  Variable any() const;
  /// any() along `dim`.
  Variable any(std::int64_t dim, bool keepdim = false) const;

  /// x^p for a constant p.
  Variable pow(float p) const;
  /// x^y elementwise, broadcast.
  Variable pow(const Variable& exponent) const;
  /// Square root.
  Variable sqrt() const;
  /// e^x.
  Variable exp() const;
  /// Natural log.
  Variable log() const;
  /// |x|.
  Variable abs() const;
  /// min(max(x, lo), hi).
  Variable clamp(float lo, float hi) const;
  /// max(x, lo).
  Variable clamp_min(float lo) const;
  /// min(x, hi).
  Variable clamp_max(float hi) const;
  /// -x.
  Variable neg() const;
  /// 1 / (1 + e^-x).
  Variable sigmoid() const;
  /// tanh(x).
  Variable tanh() const;
  /// max(x, 0).
  Variable relu() const;
  /// this + other, broadcast.
  Variable add(const Variable& other) const;
  /// this + s.
  Variable add(float s) const;
  /// this - other, broadcast.
  Variable sub(const Variable& other) const;
  /// this - s.
  Variable sub(float s) const;
  /// this * other, broadcast.
  Variable mul(const Variable& other) const;
  /// this * s.
  Variable mul(float s) const;
  /// this / other, broadcast.
  Variable div(const Variable& other) const;
  /// this / s.
  Variable div(float s) const;
  /// Matrix product of two matrices ([n, k] @ [k, m]); throws tg::Error for other ranks.
  Variable mm(const Variable& other) const;
  /// torch.matmul (vectors, matrices, broadcast batches).
  Variable matmul(const Variable& other) const;

  /// 1 where this == other, else 0 (a float tensor, broadcast; not differentiable).
  Variable eq(const CompareOperand& other) const;
  /// 1 where this != other, else 0.
  Variable ne(const CompareOperand& other) const;
  /// 1 where this < other, else 0.
  Variable lt(const CompareOperand& other) const;
  /// 1 where this <= other, else 0.
  Variable le(const CompareOperand& other) const;
  /// 1 where this > other, else 0.
  Variable gt(const CompareOperand& other) const;
  /// 1 where this >= other, else 0.
  Variable ge(const CompareOperand& other) const;

  /// The one element converted to T (`x.item<int64_t>()`, `x.item<bool>()`); item() without a
  /// template argument is the float. Throws for tensors of more than one element.
  template <class T>
  T item() const {
    if constexpr (std::is_same_v<T, bool>)
      return item() != 0.0f;
    else
      return static_cast<T>(item());
  }

  /// Sets every element to `value`, in place. Allowed on leaves (also under no-grad); a
  /// recorded result that requires grad throws tg::Error, as PyTorch's in-place ops on
  /// values a backward rule reads.
  const Variable& fill_(float value) const;
  /// fill_(0).
  const Variable& zero_() const;
  /// Uniform values in [from, to) from the default generator, in place (leaves only).
  const Variable& uniform_(float from = 0.0f, float to = 1.0f) const;
  /// Normal values of that mean and standard deviation, in place (leaves only).
  const Variable& normal_(float mean = 0.0f, float std = 1.0f) const;
  /// Sets requires_grad on a leaf and returns it (LibTorch's `x.requires_grad_()`); throws
  /// tg::Error on a recorded result.
  const Variable& requires_grad_(bool requires_grad = true) const;
  /// The node that made this variable, null for a leaf (`y.grad_fn()->name()`).
  GradFn grad_fn() const;

  /// Always the CPU: tapegrad runs on the CPU only.
  Device device() const;
  /// This variable itself for the CPU (LibTorch's x.to(kCPU)); tg::Error for a CUDA device.
  Variable to(const Device& device) const;
  /// This variable itself for Float; tg::Error for any other dtype.
  Variable to(ScalarType dtype) const;
  /// to(device), then to(dtype).
  Variable to(const Device& device, ScalarType dtype) const;
  /// This variable itself (LibTorch's x.cpu()).
  Variable cpu() const;
  /// Throws tg::Error: tapegrad runs on the CPU only.
  Variable cuda() const;
  /// Always false.
  bool is_cuda() const { return false; }
  /// This variable itself: tapegrad's values are always contiguous.
  Variable contiguous() const { return *this; }
  /// Always Float.
  ScalarType scalar_type() const { return ScalarType::Float; }
  /// Always Float (LibTorch's x.dtype()).
  ScalarType dtype() const { return ScalarType::Float; }

  /// The node it holds (for ops and the engine).
  const NodePtr& node() const { return node_; }

 private:
  template <class Fn>
  static constexpr bool returns_tensor() {
    if constexpr (std::is_invocable_v<Fn, const Tensor&>)
      return !std::is_void_v<std::invoke_result_t<Fn, const Tensor&>>;
    else
      return false;
  }
  void backward_from(const Tensor& grad_output, BackwardOptions options) const;
  void add_hook(GradHook hook);
  Node& checked_node() const;
  NodePtr node_;
};

/// The right-hand side of Variable's comparison methods: a Variable (broadcast against the
/// left side), a plain Tensor, class labels (tg::Labels, compared as exact integers) or a
/// number.
class CompareOperand {
 public:
  /// Another variable (its value).
  CompareOperand(const Variable& v) : tensor_(&v.value()) {}
  /// A plain tensor.
  CompareOperand(const Tensor& t) : tensor_(&t) {}
  /// Class labels.
  CompareOperand(const Labels& labels) : labels_(&labels) {}
  /// A number.
  CompareOperand(double s) : scalar_(s) {}
  /// The tensor, or nullptr.
  const Tensor* tensor() const { return tensor_; }
  /// The labels, or nullptr.
  const Labels* labels() const { return labels_; }
  /// The number (when neither tensor nor labels are set).
  double scalar() const { return scalar_; }

 private:
  const Tensor* tensor_ = nullptr;
  const Labels* labels_ = nullptr;
  double scalar_ = 0.0;
};

/// Prints a variable's value as LibTorch prints a tensor (autograd/print.cpp).
std::ostream& operator<<(std::ostream& out, const Variable& x);

/// Records an op: a variable holding `value` whose gradient flows to `inputs` through
/// `backward`. Records nothing (returns a plain leaf) when no input requires grad or grad mode
/// is off.
Variable record_op(const char* op, Tensor value, std::initializer_list<Variable> inputs,
                   BackwardFn backward);
/// The same with the inputs in a vector (ops of any number of inputs: cat).
Variable record_op(const char* op, Tensor value, const std::vector<Variable>& inputs,
                   BackwardFn backward);

/// What a graph rule (GraphBackwardFn) may read: the op's inputs and output as Variables of
/// the forward graph, so that the gradient it builds stays connected to them.
class GraphCtx {
 public:
  /// The context of `node`'s graph rule (the engine makes it).
  GraphCtx(const NodePtr& node) : node_(node) {}
  /// Whether input i needs a gradient (return an undefined Variable for it when not).
  bool needs(std::size_t i) const;
  /// Input i as a Variable of the forward graph.
  Variable input(std::size_t i) const;
  /// The op's own result as a Variable of the forward graph.
  Variable output() const { return Variable(node_); }
  std::size_t num_inputs() const;  ///< how many inputs the op has

 private:
  const NodePtr& node_;
};

/// Gives the op that made `y` its double-backward rule (when `y` was recorded); returns `y`.
/// Ops call it on record_op's result: `return with_double_backward(record_op(...), rule);`.
Variable with_double_backward(Variable y, GraphBackwardFn rule);

/// Whether ops record onto the tape on this thread.
bool grad_enabled();

/// While alive, nothing on this thread records onto the tape (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// While alive, sets whether ops record onto the tape on this thread (LibTorch's
/// at::AutoGradMode): `AutoGradMode enable(true)` records even inside a NoGradGuard.
class AutoGradMode {
 public:
  /// Records (true) or not (false) until destroyed.
  explicit AutoGradMode(bool enabled);
  ~AutoGradMode();
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool previous_;
};

}  // namespace tg
