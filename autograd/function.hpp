#pragma once
/// @file
/// Custom autograd functions in LibTorch's form (torch::autograd::Function): a class with static
/// `forward(ctx, ...)` and `backward(ctx, grad_outputs)`, applied with `MyFunction::apply(...)`.
///
/// @code
/// struct MulConstant : tg::autograd::Function<MulConstant> {
///   static tg::Variable forward(tg::autograd::AutogradContext* ctx, tg::Variable x, double c) {
///     ctx->saved_data["constant"] = c;
///     return x * float(c);
///   }
///   static tg::autograd::variable_list backward(tg::autograd::AutogradContext* ctx,
///                                               tg::autograd::variable_list grad_outputs) {
///     return {grad_outputs[0] * float(ctx->saved_data["constant"].toDouble()), tg::Variable()};
///   }
/// };
/// tg::Variable y = MulConstant::apply(x, 5.5);
/// @endcode
///
/// forward runs with gradient recording off; backward runs with recording on when the gradient
/// is being differentiated again (autograd::grad with create_graph), so a backward written with
/// Variable ops is itself differentiable, to any order.
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "tapegrad/autograd/variable.hpp"

namespace tg::autograd {

/// LibTorch's variable_list.
using variable_list = std::vector<Variable>;
/// LibTorch's tensor_list (the same: tapegrad's differentiable tensor is Variable).
using tensor_list = std::vector<Variable>;

/// A value kept in AutogradContext::saved_data (LibTorch's at::IValue, for the kinds a custom
/// function saves): a number, a flag, a string or a Variable. Reading it as another kind
/// throws tg::Error.
class IValue {
 public:
  IValue() = default;                                   ///< none
  IValue(double v) : v_(v) {}                           ///< a floating-point number
  IValue(float v) : v_(double(v)) {}                    ///< a floating-point number
  IValue(std::int64_t v) : v_(v) {}                     ///< an integer
  IValue(int v) : v_(std::int64_t(v)) {}                ///< an integer
  IValue(bool v) : v_(v) {}                             ///< a flag
  IValue(std::string v) : v_(std::move(v)) {}           ///< a string
  IValue(const char* v) : v_(std::string(v)) {}         ///< a string
  IValue(Variable v) : v_(std::move(v)) {}              ///< a tensor
  double toDouble() const;                              ///< the number (an integer converts)
  std::int64_t toInt() const;                           ///< the integer
  bool toBool() const;                                  ///< the flag
  const std::string& toStringRef() const;               ///< the string
  Variable toTensor() const;                            ///< the Variable
  bool isNone() const { return v_.index() == 0; }       ///< whether nothing was stored

 private:
  std::variant<std::monostate, double, std::int64_t, bool, std::string, Variable> v_;
};

/// What forward leaves for backward (LibTorch's AutogradContext).
class AutogradContext {
 public:
  /// Keeps variables for backward (inputs or the output of forward).
  void save_for_backward(variable_list to_save);
  /// The saved variables; a saved input or output is the one of the graph, so that a backward
  /// written with Variable ops stays connected to it.
  variable_list get_saved_variables() const;
  /// Whether backward needs to compute the gradient of forward's argument `index`.
  bool needs_input_grad(std::size_t index) const;
  /// Anything else backward needs: `ctx->saved_data["k"] = 0.5`, then `.toDouble()`.
  std::unordered_map<std::string, IValue> saved_data;

  /// @cond INTERNAL
  // Set by Function::apply: the forward's raw output (saved by the user inside forward) and
  // the graph's output that replaces it when backward reads it.
  std::shared_ptr<Node> raw_output;
  Variable graph_output;
  std::vector<bool> input_needs_grad;
  /// @endcond

 private:
  variable_list saved_;
};

namespace detail {

template <class T>
constexpr bool is_variable = std::is_same_v<std::decay_t<T>, Variable>;

// One Variable argument of forward: its position and the variable.
void collect(std::vector<std::pair<std::size_t, Variable>>& out, std::size_t index, const Variable& v);
template <class T>
void collect(std::vector<std::pair<std::size_t, Variable>>&, std::size_t, const T&) {}

/// The op name a custom function records under: its class name, demangled (kept for the
/// program's lifetime).
const char* function_name(const std::type_info& type);

/// Records `output` (computed by forward with recording off) as one op whose inputs are the
/// Variable arguments and whose rule calls `backward`.
Variable record_function(const char* name, Variable output,
                         std::vector<std::pair<std::size_t, Variable>> inputs, std::size_t n_args,
                         std::shared_ptr<AutogradContext> ctx,
                         variable_list (*backward)(AutogradContext*, variable_list));

}  // namespace detail

/// The base of a custom autograd function `T` (CRTP, LibTorch's torch::autograd::Function<T>):
/// T defines `static Variable forward(AutogradContext*, Args...)` and
/// `static variable_list backward(AutogradContext*, variable_list grad_outputs)`, the latter
/// returning one gradient per argument of forward (an undefined Variable for a non-tensor
/// argument or one that needs none). A gradient of the wrong shape throws tg::Error.
template <class T>
struct Function {
  /// Runs T::forward with recording off and records it as one op of the graph.
  template <class... Args>
  static Variable apply(Args&&... args) {
    auto ctx = std::make_shared<AutogradContext>();
    std::vector<std::pair<std::size_t, Variable>> inputs;
    std::size_t index = 0;
    (detail::collect(inputs, index++, args), ...);
    ctx->input_needs_grad.assign(sizeof...(Args), false);
    for (const auto& [i, v] : inputs) ctx->input_needs_grad[i] = v.defined() && v.requires_grad();
    Variable output;
    {
      NoGradGuard no_grad;
      output = T::forward(ctx.get(), std::forward<Args>(args)...);
    }
    return detail::record_function(detail::function_name(typeid(T)), std::move(output), std::move(inputs),
                                   sizeof...(Args), std::move(ctx), &T::backward);
  }
};

}  // namespace tg::autograd
