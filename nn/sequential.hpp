#pragma once
/// @file
/// Sequential (torch.nn.Sequential) and Functional (a callable as a parameterless module).
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/nn/module.hpp"

namespace tg::nn {

/// A callable Variable(const Variable&) or Variable(Variable) (a lambda, tg::relu) as a module
/// without parameters.
class FunctionalImpl : public Layer {
 public:
  /// Wraps `fn`, called by forward.
  explicit FunctionalImpl(std::function<Variable(Variable)> fn) : fn_(std::move(fn)) {}
  Variable forward(const Variable& x) override { return fn_(x); }
  /// Hands x on: tg::relu given a temporary works in place.
  Variable forward_owned(Variable x) override { return fn_(std::move(x)); }
  std::string name() const override { return "Functional"; }

 private:
  std::function<Variable(Variable)> fn_;
};

/// Holder of a FunctionalImpl, LibTorch's torch::nn::Functional: `Functional(tg::relu)`, or a
/// function with extra arguments after the input, `Functional(tg::leaky_relu, 0.2f)`,
/// `Functional(tg::log_softmax, 1)`; usable in Sequential like any layer.
class Functional : public ModuleHolder<FunctionalImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A callable Variable(Variable).
  Functional(std::function<Variable(Variable)> fn)
      : ModuleHolder(std::make_shared<FunctionalImpl>(std::move(fn))) {}
  /// fn(x, extra...) for each input x; the extra arguments are copied.
  template <class Fn, class First, class... Rest>
    requires std::is_invocable_r_v<Variable, Fn&, Variable, First&, Rest&...>
  Functional(Fn fn, First first, Rest... rest)
      : ModuleHolder(std::make_shared<FunctionalImpl>(
            [fn = std::move(fn), first = std::move(first), ... rest = std::move(rest)](
                Variable x) mutable { return fn(std::move(x), first, rest...); })) {}
};

namespace detail {
template <class T, class = void>
struct has_forward : std::false_type {};
template <class T>
struct has_forward<T, std::void_t<decltype(std::declval<T&>().forward(std::declval<Variable>()))>>
    : std::true_type {};
}  // namespace detail

/// Runs its modules in order, each one's output the next one's input; empty: the identity.
/// Children are named "0", "1", ... unless pushed with a name.
class SequentialImpl : public Layer {
 public:
  SequentialImpl() = default;
  /// Appends: a layer holder or std::shared_ptr<module> (shared), a user module with
  /// forward(Variable) (moved or copied in; a copy shares its layers' parameters), any other
  /// object with forward(Variable), or a callable Variable(const Variable&).
  template <class M>
  void push_back(M&& module) {
    push_back(std::to_string(size()), std::forward<M>(module));
  }
  /// The same, naming the child `name` instead of its index (a duplicate name throws tg::Error).
  template <class M>
  void push_back(const std::string& name, M&& module);
  /// Number of modules.
  std::size_t size() const { return steps_.size(); }
  /// Whether it has no module (then forward returns its input).
  bool empty() const { return steps_.empty(); }
  /// The i-th module; `at<Conv2dImpl>(0)` gives its concrete type (tg::Error if it is not).
  Module& operator[](std::size_t i) const;
  /// The i-th module as a T (`at<Conv2dImpl>(0)`); tg::Error if it is not one.
  template <class T>
  T& at(std::size_t i) const;
  /// The i-th module, shared.
  std::shared_ptr<Module> ptr(std::size_t i) const;
  Variable forward(const Variable& x) override;
  std::string name() const override { return "Sequential"; }

 private:
  // Takes its input by value: each step's output is handed to the next (see forward).
  using Call = std::function<Variable(Variable)>;
  struct Step {
    std::shared_ptr<Module> module;
    Call call;
  };
  void append(const std::string& name, std::shared_ptr<Module> module, Call call);
  std::vector<Step> steps_;
};

/// Holder of a SequentialImpl: `Sequential seq(Conv2d(3, 8, 3), ReLU()); seq(x)`.
class Sequential : public ModuleHolder<SequentialImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// An empty Sequential (the identity).
  Sequential() : ModuleHolder(std::make_shared<SequentialImpl>()) {}
  /// A Sequential of the given modules, in order.
  template <class First, class... Rest,
            class = std::enable_if_t<
                !std::is_same_v<std::remove_cvref_t<First>, Sequential> &&
                !std::is_same_v<std::remove_cvref_t<First>, std::nullptr_t> &&
                !std::is_same_v<std::remove_cvref_t<First>, std::shared_ptr<SequentialImpl>>>>
  Sequential(First&& first, Rest&&... rest) : Sequential() {
    get().push_back(std::forward<First>(first));
    (get().push_back(std::forward<Rest>(rest)), ...);
  }
  /// Appends a module (see SequentialImpl::push_back).
  template <class M>
  void push_back(M&& module) const {
    get().push_back(std::forward<M>(module));
  }
  /// Appends a module named `name`.
  template <class M>
  void push_back(const std::string& name, M&& module) const {
    get().push_back(name, std::forward<M>(module));
  }
  /// Number of modules.
  std::size_t size() const { return get().size(); }
  /// Whether it has no module.
  bool empty() const { return get().empty(); }
  /// The i-th module.
  Module& operator[](std::size_t i) const { return get()[i]; }
};

template <class T>
T& SequentialImpl::at(std::size_t i) const {
  auto* typed = dynamic_cast<T*>(&(*this)[i]);
  TG_CHECK(typed != nullptr, "Sequential::at: expected module ", i,
           " to be of the requested type, got ", (*this)[i].name());
  return *typed;
}

template <class M>
void SequentialImpl::push_back(const std::string& name, M&& module) {
  using T = std::remove_cvref_t<M>;
  if constexpr (detail::is_holder<T>::value) {
    TG_CHECK(module.ptr() != nullptr,
             "Sequential::push_back: expected a constructed module, got "
             "an empty holder");
    push_back(name, module.ptr());
  } else if constexpr (detail::is_module_ptr<T>::value) {
    using U = typename T::element_type;
    TG_CHECK(module != nullptr, "Sequential::push_back: expected a module, got null");
    std::shared_ptr<U> p = module;
    if constexpr (std::is_base_of_v<Layer, U>) {
      append(name, p, [p](Variable x) { return (*p)(std::move(x)); });
    } else {
      append(name, p, [p](const Variable& x) {
        ModuleScope scope(*p);  // names it in anomaly-mode errors, as Layer's call does
        Variable y = p->forward(x);
        detail::note_call(*p, x.shape(), y.shape(), 0);
        return y;
      });
    }
  } else if constexpr (std::is_base_of_v<Module, T>) {
    push_back(name, std::make_shared<T>(std::forward<M>(module)));
  } else if constexpr (detail::has_forward<T>::value) {
    auto p = std::make_shared<T>(std::forward<M>(module));
    push_back(name,
              std::make_shared<FunctionalImpl>([p](const Variable& x) { return p->forward(x); }));
  } else {
    static_assert(std::is_invocable_r_v<Variable, T&, Variable>,
                  "Sequential::push_back: expected a module or a callable Variable(Variable)");
    push_back(name, std::make_shared<FunctionalImpl>(std::forward<M>(module)));
  }
}

}  // namespace tg::nn
