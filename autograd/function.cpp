// Custom autograd functions: LibTorch's Function<T> recorded as one op of the tape.
#include "tapegrad/autograd/function.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <mutex>
#include <set>

#include "tapegrad/autograd/error.hpp"

namespace tg::autograd {

namespace {
const char* kind_name(std::size_t index) {
  static const char* const names[] = {"none", "double", "int", "bool", "string", "Variable"};
  return names[index];
}
}  // namespace

double IValue::toDouble() const {
  if (const auto* i = std::get_if<std::int64_t>(&v_)) return double(*i);
  TG_CHECK(std::holds_alternative<double>(v_), "IValue::toDouble: expected a number, got a ", kind_name(v_.index()));
  return std::get<double>(v_);
}
std::int64_t IValue::toInt() const {
  TG_CHECK(std::holds_alternative<std::int64_t>(v_), "IValue::toInt: expected an integer, got a ", kind_name(v_.index()));
  return std::get<std::int64_t>(v_);
}
bool IValue::toBool() const {
  TG_CHECK(std::holds_alternative<bool>(v_), "IValue::toBool: expected a bool, got a ", kind_name(v_.index()));
  return std::get<bool>(v_);
}
const std::string& IValue::toStringRef() const {
  TG_CHECK(std::holds_alternative<std::string>(v_), "IValue::toStringRef: expected a string, got a ", kind_name(v_.index()));
  return std::get<std::string>(v_);
}
Variable IValue::toTensor() const {
  TG_CHECK(std::holds_alternative<Variable>(v_), "IValue::toTensor: expected a Variable, got a ", kind_name(v_.index()));
  return std::get<Variable>(v_);
}

void AutogradContext::save_for_backward(variable_list to_save) { saved_ = std::move(to_save); }

variable_list AutogradContext::get_saved_variables() const {
  variable_list out = saved_;
  for (Variable& v : out)
    if (v.defined() && v.node() == raw_output && graph_output.defined()) v = graph_output;
  return out;
}

bool AutogradContext::needs_input_grad(std::size_t index) const {
  TG_CHECK(index < input_needs_grad.size(), "needs_input_grad: expected an argument index below ",
           input_needs_grad.size(), ", got ", index);
  return input_needs_grad[index];
}

namespace detail {

const char* function_name(const std::type_info& type) {
  static std::mutex mutex;
  static std::set<std::string> names;  // node-based: the c_str() pointers stay valid
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : type.name();
  std::free(demangled);
  std::lock_guard<std::mutex> lock(mutex);
  return names.insert(std::move(name)).first->c_str();
}

void collect(std::vector<std::pair<std::size_t, Variable>>& out, std::size_t index, const Variable& v) {
  out.emplace_back(index, v);
}

namespace {

// While backward runs, the saved raw output reads as the graph's output; never longer (the
// context is held by the output's own node: keeping it would be a reference cycle).
struct OutputScope {
  AutogradContext& ctx;
  OutputScope(AutogradContext& c, Variable out) : ctx(c) { ctx.graph_output = std::move(out); }
  ~OutputScope() { ctx.graph_output = Variable(); }
};

struct FunctionRule {
  const char* name;
  std::shared_ptr<AutogradContext> ctx;
  std::vector<std::size_t> positions;  // argument index of each recorded input
  std::size_t n_args;
  variable_list (*backward)(AutogradContext*, variable_list);

  variable_list run(Variable grad, Variable output) const {
    OutputScope scope(*ctx, std::move(output));
    variable_list grads = backward(ctx.get(), {std::move(grad)});
    // As LibTorch: gradients past the arguments given to apply (a defaulted bias) must be undefined.
    for (std::size_t i = n_args; i < grads.size(); ++i)
      TG_CHECK(!grads[i].defined(), name, "::backward: expected ", n_args, " gradients (one per "
               "argument given to apply), got a defined one at ", i);
    TG_CHECK(grads.size() >= n_args, name, "::backward: expected ", n_args,
             " gradients (one per argument of forward, undefined for non-tensors), got ", grads.size());
    return grads;
  }
  void check_shape(const Variable& g, std::size_t k, const Shape& shape) const {
    TG_CHECK(g.shape() == shape, name, "::backward: expected the gradient of argument ", positions[k],
             " to have its shape ", shape_str(shape), ", got ", shape_str(g.shape()));
  }
};

}  // namespace

Variable record_function(const char* name, Variable output,
                         std::vector<std::pair<std::size_t, Variable>> inputs, std::size_t n_args,
                         std::shared_ptr<AutogradContext> ctx,
                         variable_list (*backward)(AutogradContext*, variable_list)) {
  TG_CHECK(output.defined(), name, "::forward: expected a defined Variable as its result, got an undefined one");
  ctx->raw_output = output.node();
  std::vector<Variable> recorded;
  FunctionRule rule{name, ctx, {}, n_args, backward};
  for (auto& [index, v] : inputs)
    if (v.defined()) {
      recorded.push_back(v);
      rule.positions.push_back(index);
    }
  Variable y = record_op(name, Tensor(output.value()), recorded,
                         [rule](Tensor g, const BackwardCtx& bctx) -> TensorList {
                           NoGradGuard no_grad;
                           variable_list grads = rule.run(Variable(std::move(g)), Variable(bctx.output()));
                           TensorList out(rule.positions.size());
                           for (std::size_t k = 0; k < out.size(); ++k) {
                             if (!bctx.needs(k)) continue;
                             const Variable& gk = grads[rule.positions[k]];
                             if (!gk.defined()) {
                               out[k] = filled(bctx.input(k).shape(), 0.0f);
                               continue;
                             }
                             rule.check_shape(gk, k, bctx.input(k).shape());
                             out[k] = gk.value();
                           }
                           return out;
                         });
  return with_double_backward(y, [rule](const Variable& g, const GraphCtx& gctx) -> std::vector<Variable> {
    variable_list grads = rule.run(g, gctx.output());
    std::vector<Variable> out(rule.positions.size());
    for (std::size_t k = 0; k < out.size(); ++k) {
      const Variable& gk = grads[rule.positions[k]];
      if (!gctx.needs(k) || !gk.defined()) continue;
      rule.check_shape(gk, k, gctx.input(k).shape());
      out[k] = gk;
    }
    return out;
  });
}

}  // namespace detail

}  // namespace tg::autograd
