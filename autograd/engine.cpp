// The backward engine: orders the graph, runs each node's backward rule once all of its
// gradient has arrived, accumulates into inputs, and frees the graph as it goes.
#include <atomic>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "tapegrad/autograd/anomaly.hpp"
#include "tapegrad/autograd/backward_callbacks.hpp"
#include "tapegrad/autograd/elementwise.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/grad.hpp"
#include "tapegrad/autograd/kernels/map.hpp"
#include "tapegrad/autograd/variable.hpp"

namespace tg {

namespace {

std::atomic<std::uint64_t> next_epoch{1};

// Nodes reachable from root through inputs that require grad, every node before the nodes it
// consumes (reverse post-order of an iterative depth-first walk: no recursion, any depth).
std::vector<NodePtr> backward_order(std::span<const NodePtr> roots) {
  const std::uint64_t epoch = next_epoch.fetch_add(1, std::memory_order_relaxed);
  struct Frame {
    NodePtr node;
    std::size_t next_input;
  };
  std::vector<NodePtr> post_order;
  std::vector<Frame> stack;
  for (const NodePtr& root : roots) {
    if (root->visit_epoch == epoch) continue;
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
  if (leaf || node.retains_grad) {
    accumulate(node.grad, leaf ? std::move(g) : g);
    node.grad_graph.reset();  // a create_graph gradient no longer equals .grad
  }
  if (!leaf) run_rule(node, std::move(g), retain_graph);
}

void run_backward(const NodePtr& root, GradOutput grad_output, bool retain_graph) {
  std::vector<NodePtr> order = backward_order({&root, 1});
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

static std::vector<Variable> run_graph_backward(const std::vector<NodePtr>& roots, std::vector<Variable> root_grads,
                                         const std::unordered_map<const Node*, std::vector<std::size_t>>& wanted,
                                         bool retain_graph, bool into_leaves, std::size_t n_results = 0);

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
  if (options.create_graph)
    run_graph_backward({node_}, {Variable(grad_output)}, {}, true, true);
  else
    run_backward(node_, GradOutput::borrow(grad_output), options.retain_graph);
  run_post_backward_callbacks();
}

// ---- autograd::grad, and backward with create_graph ----

namespace {

// Which node's gradient goes to which entries of autograd::grad's result.
using Wanted = std::unordered_map<const Node*, std::vector<std::size_t>>;

// The nodes whose rules must run: those on a path from the roots to a wanted node (all of
// them when nothing in particular is wanted: backward into every leaf).
std::unordered_set<const Node*> useful_nodes(const std::vector<NodePtr>& order, const Wanted& wanted) {
  std::unordered_set<const Node*> useful;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node* n = it->get();
    bool u = wanted.empty() || wanted.contains(n);
    for (const NodePtr& in : n->inputs) u = u || (in && useful.contains(in.get()));
    if (u) useful.insert(n);
  }
  return useful;
}

void release(Node& node) {
  node.backward = nullptr;
  node.graph_backward = nullptr;
  node.inputs.clear();
  node.released = true;
}

void check_not_released(const Node& node) {
  TG_CHECK(!node.released, "backward: expected a graph that is still there, got one already "
           "freed by an earlier backward (at op ", node.op, "); pass retain_graph = true to "
           "the first backward to run backward twice");
}

// The first-order rules, the gradients of the wanted nodes returned (no .grad is touched).
std::vector<std::optional<Tensor>> tensor_grads(const std::vector<NodePtr>& roots,
                                                std::vector<Tensor> root_grads, const Wanted& wanted,
                                                std::size_t n_results, bool retain_graph) {
  std::vector<NodePtr> order = backward_order(roots);
  const auto useful = useful_nodes(order, wanted);
  std::vector<std::optional<Tensor>> results(n_results);
  for (std::size_t i = 0; i < roots.size(); ++i) accumulate(roots[i]->pending, std::move(root_grads[i]));
  try {
    for (NodePtr& node : order) {
      if (!node->pending) continue;
      Tensor g = std::move(*node->pending);
      node->pending.reset();
      check_not_released(*node);  // freed nodes have lost their inputs: none looks useful
      if (!useful.contains(node.get())) continue;
      const bool leaf = node->op == nullptr;
      // A leaf's hooks belong to accumulating its .grad (DDP's), which grad() does not do.
      if (!leaf) for (auto& hook : node->hooks) hook(g);
      if (auto w = wanted.find(node.get()); w != wanted.end())
        for (std::size_t k : w->second) results[k] = g;
      if (!leaf) run_rule(*node, std::move(g), retain_graph);
      node.reset();
    }
  } catch (...) {
    for (NodePtr& node : order)
      if (node) node->pending.reset();
    throw;
  }
  return results;
}

}  // namespace

static std::vector<Variable> run_graph_backward(const std::vector<NodePtr>& roots, std::vector<Variable> root_grads,
                                         const Wanted& wanted, bool retain_graph, bool into_leaves,
                                         std::size_t n_results) {
  AutoGradMode record(true);  // the rules' ops go onto the tape
  std::vector<NodePtr> order = backward_order(roots);
  const auto useful = useful_nodes(order, wanted);
  std::vector<Variable> results(n_results);
  std::unordered_map<const Node*, Variable> pending;
  auto send = [&pending](const Node* n, Variable g) {
    auto [it, fresh] = pending.try_emplace(n, g);
    if (!fresh) it->second = add(it->second, g);
  };
  for (std::size_t i = 0; i < roots.size(); ++i) send(roots[i].get(), std::move(root_grads[i]));
  for (NodePtr& node : order) {
    auto it = pending.find(node.get());
    if (it == pending.end()) continue;
    Variable g = std::move(it->second);
    pending.erase(it);
    check_not_released(*node);  // freed nodes have lost their inputs: none looks useful
    if (!useful.contains(node.get())) continue;
    const bool leaf = node->op == nullptr;
    if (!leaf && !node->hooks.empty()) {  // a hook's replacement is taken as a constant
      Tensor t = g.value();
      for (auto& hook : node->hooks) hook(t);
      if (t.shape() != g.shape() || !std::equal(t.begin(), t.end(), g.value().begin())) g = Variable(t);
    }
    if (auto w = wanted.find(node.get()); w != wanted.end())
      for (std::size_t k : w->second) results[k] = g;
    if (into_leaves && (leaf || node->retains_grad)) {
      Variable acc = g;
      if (node->grad) acc = add(node->grad_graph ? Variable(node->grad_graph) : Variable(*node->grad), g);
      node->grad = acc.value();
      node->grad_graph = acc.node();
    }
    if (leaf) continue;
    TG_CHECK(node->graph_backward != nullptr, "create_graph: expected ops whose gradient can be "
             "differentiated, got ", node->op, ", whose double backward is not implemented; "
             "compute this gradient without create_graph, or write the op with differentiable ops");
    std::vector<Variable> grads = node->graph_backward(g, GraphCtx(node));
    TG_CHECK(grads.size() == node->inputs.size(), "double backward of ", node->op, ": expected ",
             node->inputs.size(), " gradients (one per input), got ", grads.size());
    GraphCtx ctx(node);
    for (std::size_t i = 0; i < grads.size(); ++i) {
      if (!ctx.needs(i) || !grads[i].defined()) continue;
      const Node& in = *node->inputs[i];
      TG_CHECK(grads[i].shape() == in.value.shape(), "double backward of ", node->op,
               ": expected the gradient of input ", i, " to have its shape ",
               shape_str(in.value.shape()), ", got ", shape_str(grads[i].shape()));
      if (useful.contains(&in)) send(&in, std::move(grads[i]));
    }
    if (!retain_graph) release(*node);
  }
  return results;
}

namespace autograd {

std::vector<Variable> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                           const std::vector<Variable>& grad_outputs, std::optional<bool> retain_graph,
                           bool create_graph, bool allow_unused) {
  TG_CHECK(!outputs.empty(), "autograd::grad: expected at least one output, got none");
  TG_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "autograd::grad: expected ",
           outputs.size(), " grad_outputs (one per output) or none, got ", grad_outputs.size());
  std::vector<NodePtr> roots;
  std::vector<Variable> root_grads;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Variable& y = outputs[i];
    TG_CHECK(y.defined() && y.requires_grad(), "autograd::grad: expected outputs that require grad, "
             "got output ", i, (y.defined() ? " that does not" : " undefined"),
             ": no input of its graph requires grad");
    const bool given = !grad_outputs.empty() && grad_outputs[i].defined();
    if (!given)
      TG_CHECK(y.numel() == 1, "autograd::grad: grad can be implicitly created only for one-element "
               "outputs, got output ", i, " of shape ", shape_str(y.shape()), "; pass grad_outputs");
    Variable gy = given ? grad_outputs[i] : Variable(filled(y.shape(), 1.0f));
    TG_CHECK(gy.shape() == y.shape(), "autograd::grad: expected grad_outputs[", i, "] of shape ",
             shape_str(y.shape()), ", got ", shape_str(gy.shape()));
    roots.push_back(y.node());
    root_grads.push_back(std::move(gy));
  }
  Wanted wanted;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    TG_CHECK(inputs[k].defined() && inputs[k].requires_grad(), "autograd::grad: expected inputs "
             "that require grad, got input ", k, inputs[k].defined() ? " that does not" : " undefined");
    wanted[inputs[k].node().get()].push_back(k);
  }
  const bool retain = retain_graph.value_or(create_graph);
  std::vector<Variable> result;
  if (create_graph) {
    result = run_graph_backward(roots, std::move(root_grads), wanted, retain, false, inputs.size());
  } else {
    std::vector<Tensor> gs;
    for (Variable& g : root_grads) gs.push_back(g.value());
    auto tensors = tensor_grads(roots, std::move(gs), wanted, inputs.size(), retain);
    result.resize(inputs.size());
    for (std::size_t k = 0; k < inputs.size(); ++k)
      if (tensors[k]) result[k] = Variable(std::move(*tensors[k]));
  }
  for (std::size_t k = 0; k < inputs.size(); ++k)
    TG_CHECK(allow_unused || result[k].defined(), "autograd::grad: input ", k, " (shape ",
             shape_str(inputs[k].shape()), ") was not used to compute the outputs; pass "
             "allow_unused = true to get an undefined Variable for it");
  return result;
}

}  // namespace autograd

}  // namespace tg
