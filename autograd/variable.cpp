#include "tapegrad/autograd/variable.hpp"

#include <iterator>

#include "tapegrad/autograd/anomaly.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/trace.hpp"

namespace tg {

namespace {
thread_local bool grad_mode_enabled = true;
}

bool grad_enabled() { return grad_mode_enabled; }

NoGradGuard::NoGradGuard() : previous_(grad_mode_enabled) { grad_mode_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_mode_enabled = previous_; }
AutoGradMode::AutoGradMode(bool enabled) : previous_(grad_mode_enabled) { grad_mode_enabled = enabled; }
AutoGradMode::~AutoGradMode() { grad_mode_enabled = previous_; }

Node::~Node() {
  // Destroying the last handle of a 100,000-op chain would recurse once per node through
  // shared_ptr destructors; steal the inputs of every node about to die and free them here.
  std::vector<NodePtr> doomed = std::move(inputs);
  while (!doomed.empty()) {
    NodePtr next = std::move(doomed.back());
    doomed.pop_back();
    if (next && next.use_count() == 1) {
      for (auto& input : next->inputs) doomed.push_back(std::move(input));
      next->inputs.clear();
    }
  }
}

bool BackwardCtx::needs(std::size_t i) const {
  const auto& in = node_.inputs[i];
  return in && in->requires_grad;
}
const Tensor& BackwardCtx::input(std::size_t i) const {
  TG_ASSERT(i < node_.inputs.size() && node_.inputs[i], "backward of ", node_.op,
            " read missing input ", i);
  return node_.inputs[i]->value;
}
const Tensor& BackwardCtx::output() const { return node_.value; }
std::size_t BackwardCtx::num_inputs() const { return node_.inputs.size(); }

bool GraphCtx::needs(std::size_t i) const {
  const auto& in = node_->inputs[i];
  return in && in->requires_grad;
}
Variable GraphCtx::input(std::size_t i) const {
  TG_ASSERT(i < node_->inputs.size() && node_->inputs[i], "double backward of ", node_->op,
            " read missing input ", i);
  return Variable(node_->inputs[i]);
}
std::size_t GraphCtx::num_inputs() const { return node_->inputs.size(); }

Variable with_double_backward(Variable y, GraphBackwardFn rule) {
  if (y.defined() && y.node()->op != nullptr) y.node()->graph_backward = std::move(rule);
  return y;
}

Variable::Variable(Tensor value, bool requires_grad) : node_(std::make_shared<Node>(std::move(value))) {
  node_->requires_grad = requires_grad;
}

Node& Variable::checked_node() const {
  TG_CHECK(node_ != nullptr, "Variable: expected a defined variable, got an undefined one "
                             "(default-constructed)");
  return *node_;
}

const Tensor& Variable::value() const { return checked_node().value; }
Tensor& Variable::value() { return checked_node().value; }

const Tensor& Variable::grad() const {
  const Node& n = checked_node();
  TG_CHECK(n.grad.has_value(), "grad: expected a gradient, got none (shape ", shape_str(n.value.shape()),
           "): call backward() first; only leaves and retain_grad() variables keep one, and "
           "zero_grad() clears it");
  return *n.grad;
}
Tensor& Variable::grad() { return const_cast<Tensor&>(std::as_const(*this).grad()); }
bool Variable::has_grad() const { return node_ && node_->grad.has_value(); }

Variable Variable::grad_variable() const {
  const Node& n = checked_node();
  if (n.grad_graph) return Variable(n.grad_graph);
  return Variable(grad());
}

float Variable::item() const {
  const Tensor& v = value();
  TG_CHECK(v.size() == 1, "item: expected a one-element tensor, got shape ", shape_str(v.shape()));
  return v.data()[0];
}

bool Variable::requires_grad() const { return checked_node().requires_grad; }
bool Variable::is_leaf() const { return checked_node().op == nullptr; }
const char* Variable::op_name() const { return is_leaf() ? "leaf" : node_->op; }

void Variable::set_requires_grad(bool requires_grad) {
  Node& n = checked_node();
  TG_CHECK(n.op == nullptr, "set_requires_grad: expected a leaf, got the result of ", n.op,
           "; use detach() to make a leaf");
  n.requires_grad = requires_grad;
}

void Variable::zero_grad() {
  Node& n = checked_node();
  n.grad.reset();
  n.grad_graph.reset();
}

Variable Variable::detach() const { return Variable(value(), false); }

void Variable::retain_grad() { checked_node().retains_grad = true; }

void Variable::add_hook(GradHook hook) {
  Node& n = checked_node();
  TG_CHECK(n.requires_grad, "register_hook: expected a variable that requires grad, got one "
                            "that does not (shape ", shape_str(n.value.shape()), ")");
  n.hooks.push_back(std::move(hook));
}

namespace {
// Tells a listening tracer (the ONNX exporter) about the op; one pointer test otherwise.
Variable traced(const char* op, Variable out, std::span<const Variable> inputs) {
  if (trace::detail::tracer) trace::detail::tracer->on_op(op, out, inputs);
  return out;
}

template <class Inputs>
Variable record(const char* op, Tensor value, const Inputs& inputs, BackwardFn backward) {
  bool any_requires = false;
  if (grad_mode_enabled)
    for (const Variable& in : inputs) any_requires = any_requires || (in.defined() && in.requires_grad());
  auto node = std::make_shared<Node>(std::move(value));
  if (detail::anomaly_on)  // anomaly mode: check the result, and later its gradients
    detail::anomaly_on_record(op, node->value, {std::data(inputs), std::size(inputs)},
                              any_requires ? &backward : nullptr);
  if (!any_requires) return traced(op, Variable(std::move(node)), {std::data(inputs), std::size(inputs)});
  node->requires_grad = true;
  node->op = op;
  node->backward = std::move(backward);
  node->inputs.reserve(inputs.size());
  for (const Variable& in : inputs) node->inputs.push_back(in.node());
  return traced(op, Variable(std::move(node)), {std::data(inputs), std::size(inputs)});
}
}  // namespace

Variable record_op(const char* op, Tensor value, std::initializer_list<Variable> inputs,
                   BackwardFn backward) {
  return record(op, std::move(value), inputs, std::move(backward));
}
Variable record_op(const char* op, Tensor value, const std::vector<Variable>& inputs,
                   BackwardFn backward) {
  return record(op, std::move(value), inputs, std::move(backward));
}

}  // namespace tg
