// The backward engine: orders the graph, runs each node's backward rule once all of its
// gradient has arrived, accumulates into inputs, and frees the graph as it goes.
#include <atomic>

#include "tapegrad/autograd/anomaly.hpp"
#include "tapegrad/autograd/backward_callbacks.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/kernels/map.hpp"
#include "tapegrad/autograd/variable.hpp"

namespace tg {

namespace {

std::atomic<std::uint64_t> next_epoch{1};

// Nodes reachable from root through inputs that require grad, every node before the nodes it
// consumes (reverse post-order of an iterative depth-first walk: no recursion, any depth).
std::vector<NodePtr> backward_order(const NodePtr& root) {
  const std::uint64_t epoch = next_epoch.fetch_add(1, std::memory_order_relaxed);
  struct Frame {
    NodePtr node;
    std::size_t next_input;
  };
  std::vector<NodePtr> post_order;
  std::vector<Frame> stack;
  root->visit_epoch = epoch;
  stack.push_back({root, 0});
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.next_input < top.node->inputs.size()) {
      const NodePtr& in = top.node->inputs[top.next_input++];
      if (in && in->requires_grad && in->visit_epoch != epoch) {
        in->visit_epoch = epoch;
        stack.push_back({in, 0});
      }
      continue;
    }
    post_order.push_back(std::move(top.node));
    stack.pop_back();
  }
  return {post_order.rbegin(), post_order.rend()};
}

// Sums a second gradient into a node's (a residual block's input gets two), on all threads.
void add_into(Tensor& acc, const Tensor& g) {
  float* a = acc.data();
  const float* b = g.data();
  kernels::for_range(acc.size(), [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) a[i] += b[i];
  });
}

void accumulate(std::optional<Tensor>& acc, Tensor g) {
  if (acc)
    add_into(*acc, g);
  else
    acc.emplace(std::move(g));
}

void send_to_inputs(Node& node, TensorList grads) {
  BackwardCtx ctx(node);
  TG_CHECK(grads.size() == node.inputs.size(), "backward of ", node.op, ": expected ",
           node.inputs.size(), " gradients (one per input), got ", grads.size());
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (!ctx.needs(i)) continue;
    Node& in = *node.inputs[i];
    TG_CHECK(grads[i].shape() == in.value.shape(), "backward of ", node.op,
             ": expected the gradient of input ", i, " to have its shape ",
             shape_str(in.value.shape()), ", got ", shape_str(grads[i].shape()));
    accumulate(in.pending, std::move(grads[i]));
  }
}

void run_rule(Node& node, GradOutput g, bool retain_graph) {
  TG_CHECK(!node.released, "backward: expected a graph that is still there, got one already "
           "freed by an earlier backward (at op ", node.op, "); pass {.retain_graph = true} to "
           "the first backward to run backward twice");
  TensorList grads = node.backward(std::move(g), BackwardCtx(node));
  if (detail::anomaly_on) detail::anomaly_check_gradients(node.op, BackwardCtx(node), grads);
  send_to_inputs(node, std::move(grads));
  if (!retain_graph) {
    // Frees the saved state and, once no one else holds them, the intermediate values.
    node.backward = nullptr;
    node.inputs.clear();
    node.released = true;
  }
}

void run_node(Node& node, bool retain_graph) {
  Tensor g = std::move(*node.pending);
  node.pending.reset();
  for (auto& hook : node.hooks) hook(g);
  const bool leaf = node.op == nullptr;
  if (leaf || node.retains_grad) accumulate(node.grad, leaf ? std::move(g) : g);
  if (!leaf) run_rule(node, std::move(g), retain_graph);
}

void run_backward(const NodePtr& root, GradOutput grad_output, bool retain_graph) {
  std::vector<NodePtr> order = backward_order(root);
  // The caller's gradient goes to the root's rule as it is when nothing else wants to keep or
  // change it (a hook, a leaf's or a retained .grad): the root comes first in the order.
  const bool lend = !grad_output.owned() && root->op != nullptr && root->hooks.empty() &&
                    !root->retains_grad;
  if (!lend) root->pending.emplace(std::move(grad_output).take());
  try {
    for (NodePtr& node : order) {
      if (lend && node == root)
        run_rule(*node, std::move(grad_output), retain_graph);
      else if (node->pending)
        run_node(*node, retain_graph);
      node.reset();  // the last owner may free it now; its consumers already ran
    }
  } catch (...) {
    for (NodePtr& node : order)
      if (node) node->pending.reset();
    throw;
  }
}

}  // namespace

// The engine owns the gradients it passes on (rules may update them in place), so a rule that
// takes the caller's gradient gets a copy, made on all threads when it is large.
Tensor GradOutput::take() && {
  if (borrowed_) return kernels::map(*borrowed_, [](float v) { return v; });
  return std::move(*owned_);
}

void Variable::backward(BackwardOptions options) const {
  const Node& n = checked_node();
  TG_CHECK(n.value.size() == 1, "backward: expected a one-element output for an implicit "
           "gradient, got shape ", shape_str(n.value.shape()), "; pass grad_output");
  backward_from(filled(n.value.shape(), 1.0f), options);
}

void Variable::backward_from(const Tensor& grad_output, BackwardOptions options) const {
  const Node& n = checked_node();
  TG_CHECK(n.requires_grad, "backward: expected a variable that requires grad, got one that "
           "does not (shape ", shape_str(n.value.shape()), "): no input of its graph requires grad");
  TG_CHECK(grad_output.shape() == n.value.shape(), "backward: expected grad_output of shape ",
           shape_str(n.value.shape()), ", got ", shape_str(grad_output.shape()));
  run_backward(node_, GradOutput::borrow(grad_output), options.retain_graph);
  run_post_backward_callbacks();
}

}  // namespace tg
