#pragma once
/// @file
/// tg::nn::Module: a tree of named parameters, buffers and submodules (torch.nn.Module), the
/// holders the layers are used through (LibTorch's ModuleHolder: `Conv2d` holds a `Conv2dImpl`),
/// and state dicts.
///
/// Ownership: a layer (`tg::nn::Conv2d`) is a cheap handle to a shared `Conv2dImpl`; copies of
/// a handle, and the registry of the module it is registered in, all refer to the same layer.
/// A user module (deriving tg::nn::Module) registered by reference must be a data member of
/// the registering module: it is stored as an offset from its parent, so that copying or moving
/// the parent keeps the tree consistent. Register it through std::shared_ptr otherwise.
/// Copies of a module are shallow (they share parameters), like copies of a LibTorch module.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/autograd/anomaly.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/trace.hpp"
#include "tapegrad/autograd/variable.hpp"
#include "tapegrad/nn/safetensors.hpp"

namespace tg::nn {

/// One entry of a state dict: a parameter's or buffer's value and how files store it.
struct StateEntry {
  std::string name;          ///< dotted name, "layer1.0.conv1.weight"
  Tensor value;              ///< the values (float32 in memory, whatever the file's dtype)
  Dtype dtype = Dtype::F32;  ///< the dtype save() writes (I64 for counters such as num_batches_tracked)
};

/// name -> tensor in registration order (PyTorch's OrderedDict state dict).
class StateDict {
 public:
  /// Adds an entry, or replaces the value of an existing one.
  void insert(const std::string& name, Tensor value, Dtype dtype = Dtype::F32);
  /// The entry's value, or nullptr.
  const Tensor* find(const std::string& name) const;
  /// The entry's value; throws tg::Error naming a missing key.
  const Tensor& at(const std::string& name) const;
  /// The entry's value, writable; throws tg::Error naming a missing key.
  Tensor& at(const std::string& name);
  /// Whether an entry has this name.
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  /// Number of entries.
  std::size_t size() const { return entries_.size(); }
  /// The entries in registration order.
  const std::vector<StateEntry>& entries() const { return entries_; }
  /// Iteration over the StateEntry's in registration order.
  auto begin() const { return entries_.begin(); }
  /// End of the iteration.
  auto end() const { return entries_.end(); }

 private:
  std::vector<StateEntry> entries_;
  std::map<std::string, std::size_t> index_;
};

class Module;

namespace detail {
template <class T, class = void>
struct is_holder : std::false_type {};
template <class T>
struct is_holder<T, std::void_t<typename T::ImplType, decltype(std::declval<T>().ptr())>>
    : std::true_type {};
template <class T>
struct is_module_ptr : std::false_type {};
template <class T>
struct is_module_ptr<std::shared_ptr<T>> : std::is_base_of<Module, T> {};
/// How many EvalOnThisThread guards are alive on this thread (is_training() is false while any is).
inline thread_local int eval_on_this_thread = 0;
}  // namespace detail

/// While alive, every module's is_training() is false on the calling thread only; the modules'
/// own flags (what other threads see, what train()/eval() set) are not touched. This is how
/// export_model and summary-like passes run a model in eval mode while another thread trains it.
class EvalOnThisThread {
 public:
  /// Enters eval mode on this thread (guards nest).
  EvalOnThisThread() { ++detail::eval_on_this_thread; }
  /// Leaves it: the modules' own flags apply again once no guard is alive.
  ~EvalOnThisThread() { --detail::eval_on_this_thread; }
  EvalOnThisThread(const EvalOnThisThread&) = delete;
  EvalOnThisThread& operator=(const EvalOnThisThread&) = delete;
};

/// The base of every module. `forward` is the subclass's own (any signature).
class Module : public std::enable_shared_from_this<Module> {
 public:
  /// An empty module in training mode.
  Module() = default;
  ///@{
  /// Shallow: the copy shares parameters, buffers and shared submodules with the original.
  Module(const Module&) = default;
  Module(Module&&) = default;
  Module& operator=(const Module&) = default;
  Module& operator=(Module&&) = default;
  ///@}
  virtual ~Module() = default;

  /// The type name printed by operator<< (the class name unless a layer says otherwise).
  virtual std::string name() const;
  /// The configuration printed between the parentheses (PyTorch's extra_repr).
  virtual std::string extra_repr() const { return {}; }

  /// Registers a leaf Variable as parameter `name` (requires_grad set as given); returns it.
  Variable register_parameter(const std::string& name, Variable value, bool requires_grad = true);
  /// Registers state that is saved but not trained (requires_grad false); `stored_as` is the
  /// dtype save() writes (I64 for counters, as PyTorch stores them).
  Variable register_buffer(const std::string& name, Variable value, Dtype stored_as = Dtype::F32);
  /// Registers a submodule: a layer holder (shared), a std::shared_ptr<M> (shared), or a user
  /// module data member by reference (not owned; see the note at the top). Returns its argument.
  template <class M>
  decltype(auto) register_module(const std::string& name, M&& module);

  /// All parameters, this module's first, then each child's in registration order; a Variable
  /// registered twice appears once.
  std::vector<Variable> parameters(bool recurse = true) const;
  /// The same with dotted names ("layer1.0.conv1.weight").
  std::vector<std::pair<std::string, Variable>> named_parameters(bool recurse = true) const;
  /// All buffers (BatchNorm's running statistics), in the order of parameters().
  std::vector<Variable> buffers(bool recurse = true) const;
  /// The same with dotted names ("bn1.running_mean").
  std::vector<std::pair<std::string, Variable>> named_buffers(bool recurse = true) const;
  /// Direct submodules in registration order.
  std::vector<Module*> children() const;
  /// The same with their names.
  std::vector<std::pair<std::string, Module*>> named_children() const;
  /// This module and all below it, pre-order, each once.
  std::vector<Module*> modules() const;
  /// The same with dotted names (this module is "" or `prefix`).
  std::vector<std::pair<std::string, Module*>> named_modules(const std::string& prefix = "") const;

  /// Sets training mode here and in every submodule (Dropout, BatchNorm behave differently).
  virtual void train(bool on = true);
  /// train(false).
  void eval() { train(false); }
  /// Whether this module runs in training mode: its flag, unless an EvalOnThisThread guard is
  /// alive on the calling thread (then false, without reading the flag another thread may set).
  bool is_training() const { return detail::eval_on_this_thread == 0 && training_; }
  /// Drops the gradient of every parameter (PyTorch's set_to_none).
  void zero_grad();
  /// LibTorch's module->to(device): a no-op for the CPU, where tapegrad keeps every parameter
  /// and buffer; tg::Error for a CUDA device. `non_blocking` is accepted and ignored.
  void to(const Device& device, bool non_blocking = false);
  /// LibTorch's module->to(dtype): a no-op for Float; tg::Error for any other dtype.
  void to(ScalarType dtype, bool non_blocking = false);
  /// Number of parameter elements (only those requiring grad when trainable_only).
  std::size_t num_parameters(bool trainable_only = false) const;

  /// Parameters and buffers by dotted name, values copied, PyTorch's names and layouts.
  StateDict state_dict() const;
  /// Copies values in by name. Strict: missing or unexpected keys are a tg::Error listing them
  /// all (PyTorch's message); a shape mismatch always is. Nothing is changed when it throws.
  /// A buffer named num_batches_tracked (BatchNorm's counter) may be missing even when strict,
  /// as in PyTorch: it keeps its current value.
  void load_state_dict(const StateDict& dict, bool strict = true);
  /// The same from a plain name -> tensor map.
  void load_state_dict(const std::map<std::string, Tensor>& dict, bool strict = true);

 private:
  struct Slot {
    std::string name;
    Variable var;
    Dtype dtype = Dtype::F32;
  };
  struct Child {
    std::string name;
    std::shared_ptr<Module> owned;  // null: a member, found at `offset` bytes from this
    std::ptrdiff_t offset = 0;
  };
  void check_new_name(const std::string& name) const;
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void add_child_member(const std::string& name, Module& module);
  Module& child(const Child& c) const;
  void load_checked(const std::function<const Tensor*(const std::string&)>& lookup,
                    const std::vector<std::string>& keys, bool strict);
  /// The slots of `which` (parameters_ or buffers_) here and below, dotted names, each once.
  std::vector<std::pair<std::string, Variable>> named_slots(std::vector<Slot> Module::*which,
                                                            bool recurse) const;

  std::vector<Slot> parameters_, buffers_;
  std::vector<Child> children_;
  bool training_ = true;
};

/// A module with one Variable in and one out (every built-in layer): callable, usable in
/// Sequential, and reported by summary().
class Layer : public Module {
 public:
  /// The layer's computation; shapes and errors are the layer's own (see each Impl).
  virtual Variable forward(const Variable& x) = 0;
  /// forward(x) for a caller that hands over its handle to x (a temporary, or Sequential
  /// passing one step's output to the next): a layer that can then work in place (ReLU)
  /// overrides it.
  virtual Variable forward_owned(Variable x) { return forward(x); }
  /// forward(x), reported to a running summary().
  Variable operator()(const Variable& x);
  /// forward_owned(x), reported to a running summary(): `relu_layer(bn(conv(x)))`.
  Variable operator()(Variable&& x);
  /// Multiply-adds of one call with these input/output shapes (0 where not counted).
  virtual std::uint64_t multiply_adds(const Shape& /*in*/, const Shape& /*out*/) const { return 0; }
};

/// While alive, puts `module` on this thread's module path, which anomaly-mode errors name
/// (tg::autograd::DetectAnomalyGuard): "ResNetCifar.layer1.0.conv1 (Conv2d)". Layer's call
/// operator opens one; open one in a user module's forward (or around the call of the model)
/// so that the path starts there; the ONNX exporter's errors name it too. Costs two
/// thread-local tests when neither runs.
class ModuleScope {
 public:
  /// Enters `module` (no effect unless anomaly mode or a trace is on).
  explicit ModuleScope(const Module& module) {
    if (::tg::detail::anomaly_on || ::tg::trace::active()) enter(module);  // ONNX export names it too
  }
  /// Leaves it.
  ~ModuleScope() {
    if (active_) ::tg::detail::pop_module();
  }
  ModuleScope(const ModuleScope&) = delete;
  ModuleScope& operator=(const ModuleScope&) = delete;

 private:
  void enter(const Module& module);
  bool active_ = false;
};

/// Prints the module tree as PyTorch does, followed by the parameter count when it has children.
std::ostream& operator<<(std::ostream& out, const Module& module);
/// The module tree as PyTorch prints it (no parameter count).
std::string repr(const Module& module);

/// The handle every layer is used through: `Conv2d` is a ModuleHolder<Conv2dImpl>.
/// `layer(x)` calls forward, `layer->weight` reaches the Impl; copies share the Impl.
template <class Impl>
class ModuleHolder {
 public:
  /// The module type held (Conv2dImpl for Conv2d).
  using ImplType = Impl;
  /// An empty holder (assign a constructed one later). A template so that a literal 0 is a
  /// number for the layer's own constructors (Softmax(0)), not a null pointer.
  template <class T, std::enable_if_t<std::is_same_v<T, std::nullptr_t>, int> = 0>
  ModuleHolder(T) {}
  /// Holds `impl` (shared with whoever else holds it).
  explicit ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  /// The Impl's members: `fc->weight`. Throws tg::Error on an empty holder, as do operator*,
  /// the conversion to Impl& and the calls.
  Impl* operator->() const { return &get(); }
  /// The Impl.
  Impl& operator*() const { return get(); }
  /// The shared pointer to the Impl (null when empty).
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  /// Whether no Impl is held.
  bool is_empty() const { return impl_ == nullptr; }
  /// The Impl (so a holder passes where a Module& is expected: save(model.fc1, path)).
  operator Impl&() const { return get(); }
  /// The Impl's call operator for a layer: forward(x), reported to a running summary().
  template <class I = Impl>
    requires std::is_base_of_v<Layer, I>
  Variable operator()(const Variable& x) const {
    return get()(x);
  }
  /// The same handing over x (in place where the layer can: `relu(bn(conv(x)))`).
  template <class I = Impl>
    requires std::is_base_of_v<Layer, I>
  Variable operator()(Variable&& x) const {
    return get()(std::move(x));
  }
  /// The same as calling the holder.
  template <class I = Impl>
    requires std::is_base_of_v<Layer, I>
  Variable forward(const Variable& x) const {
    return get()(x);
  }
  /// Calls a user module's forward with any arguments (TORCH_MODULE's holders): `net(x, y)`.
  template <class... Args, class I = Impl>
    requires(!std::is_base_of_v<Layer, I>)
  decltype(auto) operator()(Args&&... args) const {
    ModuleScope scope(get());  // names it in anomaly-mode errors, as Layer's call does
    return get().forward(std::forward<Args>(args)...);
  }

 protected:
  /// The Impl; throws tg::Error on an empty holder.
  Impl& get() const {
    TG_CHECK(impl_ != nullptr, "Module: expected a constructed module, got an empty holder");
    return *impl_;
  }
  std::shared_ptr<Impl> impl_;  ///< the module held; null when empty
};

/// LibTorch's TORCH_MODULE: after `struct NetImpl : tg::nn::Module {...};`, `TORCH_MODULE(Net);`
/// declares the holder `Net`: `Net net(args...)` makes a shared NetImpl(args...), `Net net;`
/// a default-constructed one, `Net net = nullptr;` an empty holder; `net->member`,
/// `net(x)` (NetImpl's forward), register_module("net", net), Sequential(net, ...) work as
/// for a built-in layer, and copies share the module.
#define TORCH_MODULE(Name)                                                                 \
  class Name : public ::tg::nn::ModuleHolder<Name##Impl> {                                 \
   public:                                                                                 \
    using ::tg::nn::ModuleHolder<Name##Impl>::ModuleHolder;                                \
    template <class I = Name##Impl>                                                        \
      requires std::is_default_constructible_v<I>                                          \
    Name() : ::tg::nn::ModuleHolder<Name##Impl>(std::make_shared<I>()) {}                  \
    template <class First, class... Rest>                                                  \
      requires(!std::is_same_v<std::remove_cvref_t<First>, Name> &&                        \
               !std::is_same_v<std::remove_cvref_t<First>, std::nullptr_t> &&              \
               !std::is_same_v<std::remove_cvref_t<First>, std::shared_ptr<Name##Impl>> && \
               std::is_constructible_v<Name##Impl, First, Rest...>)                        \
    explicit Name(First&& first, Rest&&... rest)                                           \
        : ::tg::nn::ModuleHolder<Name##Impl>(std::make_shared<Name##Impl>(                 \
              std::forward<First>(first), std::forward<Rest>(rest)...)) {}                 \
  }
/// tapegrad's name of TORCH_MODULE.
#define TG_MODULE(Name) TORCH_MODULE(Name)

/// Prints the held module as operator<<(std::ostream&, const Module&) does.
template <class Impl>
std::ostream& operator<<(std::ostream& out, const ModuleHolder<Impl>& holder) {
  return out << static_cast<const Module&>(*holder);
}

namespace detail {
/// One call of a Layer seen while a summary runs.
struct CallRecord {
  const Module* module;
  Shape input, output;
  std::uint64_t multiply_adds;
};
/// The log Layer calls are appended to on this thread (nullptr when no summary runs).
std::vector<CallRecord>*& call_log();
/// Appends to call_log() when one is active.
void note_call(const Module& module, const Shape& in, const Shape& out, std::uint64_t macs);
/// The Module behind a module or a holder.
template <class M>
Module& as_module(M& m) {
  if constexpr (is_holder<std::remove_cv_t<M>>::value)
    return *m;
  else
    return m;
}
}  // namespace detail

template <class M>
decltype(auto) Module::register_module(const std::string& name, M&& module) {
  using T = std::remove_cvref_t<M>;
  if constexpr (detail::is_holder<T>::value) {
    TG_CHECK(module.ptr() != nullptr, "register_module: expected a constructed module for '", name,
             "', got an empty holder");
    add_child(name, module.ptr());
    return T(module);
  } else if constexpr (detail::is_module_ptr<T>::value) {
    TG_CHECK(module != nullptr, "register_module: expected a module for '", name, "', got null");
    add_child(name, module);
    return T(module);
  } else {
    static_assert(std::is_base_of_v<Module, T>, "register_module: expected a module");
    static_assert(std::is_lvalue_reference_v<M>,
                  "register_module: pass a data member, or a std::shared_ptr to own the module");
    add_child_member(name, module);
    return static_cast<T&>(module);
  }
}

}  // namespace tg::nn
