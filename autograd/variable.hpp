#pragma once
// tg::Variable: a shared handle to one node of the dynamic graph (its value, its gradient, and
// the rule that sends a gradient back to the node's inputs). Ops record nodes with record_op.
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "tapegrad/autograd/tensor.hpp"

namespace tg {

struct Node;
using NodePtr = std::shared_ptr<Node>;
using TensorList = std::vector<Tensor>;

/// What a backward rule may read: the inputs' and the output's values, and which inputs need a
/// gradient. It holds references into the graph, valid only during the call.
class BackwardCtx {
 public:
  BackwardCtx(const Node& node) : node_(node) {}
  /// Whether input i needs a gradient (return an empty Tensor for it when not).
  bool needs(std::size_t i) const;
  /// The value input i had when the op ran.
  const Tensor& input(std::size_t i) const;
  /// The op's own result.
  const Tensor& output() const;
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
  GradOutput(Tensor owned) : owned_(std::move(owned)) {}
  static GradOutput borrow(const Tensor& caller_gradient) { return GradOutput(&caller_gradient); }

  const Tensor& get() const { return borrowed_ ? *borrowed_ : *owned_; }
  bool owned() const { return borrowed_ == nullptr; }
  /// The gradient as a tensor the rule owns: moved out, or copied from the caller's.
  Tensor take() &&;
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
  Tensor value;
  std::optional<Tensor> grad;  // accumulated dLoss/dValue (leaves and retain_grad only)
  NodePtr grad_graph;          // the same gradient with its graph, after a create_graph backward
  bool requires_grad = false;
  bool retains_grad = false;   // a non-leaf that keeps its .grad (retain_grad())
  bool released = false;       // its backward ran and its graph was freed
  const char* op = nullptr;    // nullptr for a leaf
  std::vector<NodePtr> inputs;
  BackwardFn backward;
  GraphBackwardFn graph_backward;  // the same rule in Variable ops; empty: no double backward
  std::vector<GradHook> hooks;
  // Set by an op that can apply a following ReLU to its own output in place and fold the mask
  // into its backward rule (batch_norm, same-shape add). relu() calls it when it holds the only
  // handle to this node, so user code gets the fused kernels without asking for them.
  void (*absorb_relu)(Node&) = nullptr;
  // Engine bookkeeping for one backward pass.
  std::uint64_t visit_epoch = 0;
  std::optional<Tensor> pending;  // gradient gathered so far during one backward pass

  // Members are built in place: a default xarray would allocate an element only to discard it.
  explicit Node(Tensor v) : value(std::move(v)) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();  // dismantles long input chains iteratively (no deep recursion)
};

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
  explicit Variable(NodePtr node) : node_(std::move(node)) {}

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const;
  /// The value, writable (optimizers update parameters in place).
  Tensor& value();
  /// dLoss/dThis, accumulated over backward calls; throws when there is none yet.
  const Tensor& grad() const;
  Tensor& grad();
  bool has_grad() const;
  const Shape& shape() const { return value().shape(); }
  std::size_t dim() const { return value().dimension(); }
  std::size_t numel() const { return value().size(); }
  /// The one element's value; throws for tensors of more than one element.
  float item() const;

  bool requires_grad() const;
  /// Only for leaves: whether backward computes this variable's gradient.
  void set_requires_grad(bool requires_grad);
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
  Variable reshape(const std::vector<std::int64_t>& shape) const { return view(shape); }
  /// Merges dimensions start_dim..end_dim (default: all from 1 on, keeping the batch).
  Variable flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) const;
  Variable transpose(std::int64_t dim0, std::int64_t dim1) const;
  Variable permute(const std::vector<std::int64_t>& dims) const;

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

/// Records an op: a variable holding `value` whose gradient flows to `inputs` through
/// `backward`. Records nothing (returns a plain leaf) when no input requires grad or grad mode
/// is off.
Variable record_op(const char* op, Tensor value, std::initializer_list<Variable> inputs,
                   BackwardFn backward);
Variable record_op(const char* op, Tensor value, const std::vector<Variable>& inputs,
                   BackwardFn backward);

/// What a graph rule (GraphBackwardFn) may read: the op's inputs and output as Variables of
/// the forward graph, so that the gradient it builds stays connected to them.
class GraphCtx {
 public:
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
  explicit AutoGradMode(bool enabled);
  ~AutoGradMode();
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool previous_;
};

}  // namespace tg
