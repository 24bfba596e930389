#include "tapegrad/nn/module.hpp"

#include <cxxabi.h>

#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <set>
#include <sstream>
#include <typeinfo>

#include "tapegrad/nn/format.hpp"

namespace tg::nn {

// ---------------------------------------------------------------------------------- StateDict

void StateDict::insert(const std::string& name, Tensor value, Dtype dtype) {
  auto it = index_.find(name);
  if (it != index_.end()) {
    entries_[it->second].value = std::move(value);
    entries_[it->second].dtype = dtype;
    return;
  }
  index_.emplace(name, entries_.size());
  entries_.push_back({name, std::move(value), dtype});
}

const Tensor* StateDict::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second].value;
}

const Tensor& StateDict::at(const std::string& name) const {
  const Tensor* t = find(name);
  TG_CHECK(t != nullptr, "StateDict: expected key '", name, "', got no such entry");
  return *t;
}

Tensor& StateDict::at(const std::string& name) {
  return const_cast<Tensor&>(static_cast<const StateDict&>(*this).at(name));
}

// ------------------------------------------------------------------------------- registration

namespace {

// "tg::nn::(anonymous namespace)::SimpleCNN" -> "SimpleCNN": the last component outside of
// template arguments, as Python prints a class's __name__.
std::string unqualified(const std::string& name) {
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i + 1 < name.size(); ++i) {
    if (name[i] == '<') ++depth;
    if (name[i] == '>') --depth;
    if (depth == 0 && name[i] == ':' && name[i + 1] == ':') start = i + 2;
  }
  return name.substr(start);
}

}  // namespace

std::string Module::name() const {
  int status = 0;
  const char* mangled = typeid(*this).name();
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string result = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  return unqualified(result);
}

void Module::check_new_name(const std::string& name) const {
  TG_CHECK(!name.empty() && name.find('.') == std::string::npos,
           "register: expected a non-empty name without '.', got '", name, "'");
  auto taken = [&](const auto& list) {
    for (const auto& e : list)
      if (e.name == name) return true;
    return false;
  };
  TG_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_),
           "register: expected a new name, got '", name, "' which is already registered");
}

Variable Module::register_parameter(const std::string& name, Variable value, bool requires_grad) {
  check_new_name(name);
  TG_CHECK(value.defined(), "register_parameter: expected a defined Variable for '", name,
           "', got an undefined one");
  TG_CHECK(value.is_leaf(), "register_parameter: expected a leaf Variable for '", name,
           "', got the result of ", value.op_name());
  value.set_requires_grad(requires_grad);
  parameters_.push_back({name, value, Dtype::F32});
  return value;
}

Variable Module::register_buffer(const std::string& name, Variable value, Dtype stored_as) {
  check_new_name(name);
  TG_CHECK(value.defined(), "register_buffer: expected a defined Variable for '", name,
           "', got an undefined one");
  TG_CHECK(value.is_leaf(), "register_buffer: expected a leaf Variable for '", name,
           "', got the result of ", value.op_name());
  value.set_requires_grad(false);
  buffers_.push_back({name, value, stored_as});
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name);
  TG_CHECK(module.get() != this, "register_module: expected another module for '", name,
           "', got the module itself");
  children_.push_back({name, std::move(module), 0});
}

// A module already owned by a shared_ptr is shared; otherwise it is a data member of this module
// and is remembered by its offset, which stays right when this module is copied or moved.
void Module::add_child_member(const std::string& name, Module& module) {
  if (auto owned = module.weak_from_this().lock()) return add_child(name, std::move(owned));
  check_new_name(name);
  TG_CHECK(&module != this, "register_module: expected another module for '", name,
           "', got the module itself");
  const auto offset = static_cast<std::ptrdiff_t>(reinterpret_cast<std::uintptr_t>(&module) -
                                                  reinterpret_cast<std::uintptr_t>(this));
  children_.push_back({name, nullptr, offset});
}

Module& Module::child(const Child& c) const {
  if (c.owned) return *c.owned;
  return *reinterpret_cast<Module*>(reinterpret_cast<std::uintptr_t>(this) +
                                    static_cast<std::uintptr_t>(c.offset));
}

// -------------------------------------------------------------------------------- traversal

std::vector<std::pair<std::string, Module*>> Module::named_children() const {
  std::vector<std::pair<std::string, Module*>> result;
  for (const auto& c : children_) result.emplace_back(c.name, &child(c));
  return result;
}

std::vector<Module*> Module::children() const {
  std::vector<Module*> result;
  for (const auto& c : children_) result.push_back(&child(c));
  return result;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules(
    const std::string& prefix) const {
  std::vector<std::pair<std::string, Module*>> result;
  std::set<const Module*> seen;
  // Iterative pre-order walk; the stack holds (name, module) still to visit, last on top.
  std::vector<std::pair<std::string, Module*>> stack{{prefix, const_cast<Module*>(this)}};
  while (!stack.empty()) {
    auto [name, m] = stack.back();
    stack.pop_back();
    if (!seen.insert(m).second) continue;
    result.emplace_back(name, m);
    auto kids = m->named_children();
    for (auto it = kids.rbegin(); it != kids.rend(); ++it)
      stack.emplace_back(name.empty() ? it->first : name + "." + it->first, it->second);
  }
  return result;
}

std::vector<Module*> Module::modules() const {
  std::vector<Module*> result;
  for (auto& [name, m] : named_modules()) result.push_back(m);
  return result;
}

std::vector<std::pair<std::string, Variable>> Module::named_slots(std::vector<Slot> Module::*which,
                                                                 bool recurse) const {
  std::vector<std::pair<std::string, Variable>> result;
  std::set<const Node*> seen;
  auto modules =
      recurse ? named_modules()
              : std::vector<std::pair<std::string, Module*>>{{"", const_cast<Module*>(this)}};
  for (auto& [prefix, m] : modules)
    for (const auto& slot : m->*which)
      if (seen.insert(slot.var.node().get()).second)
        result.emplace_back(prefix.empty() ? slot.name : prefix + "." + slot.name, slot.var);
  return result;
}

std::vector<std::pair<std::string, Variable>> Module::named_parameters(bool recurse) const {
  return named_slots(&Module::parameters_, recurse);
}

std::vector<Variable> Module::parameters(bool recurse) const {
  std::vector<Variable> result;
  for (auto& [name, p] : named_parameters(recurse)) result.push_back(p);
  return result;
}

std::vector<std::pair<std::string, Variable>> Module::named_buffers(bool recurse) const {
  return named_slots(&Module::buffers_, recurse);
}

std::vector<Variable> Module::buffers(bool recurse) const {
  std::vector<Variable> result;
  for (auto& [name, b] : named_buffers(recurse)) result.push_back(b);
  return result;
}

void Module::train(bool on) {
  training_ = on;
  for (Module* c : children()) c->train(on);
}

void Module::to(const Device& device, bool) { check_cpu_device(device, "Module::to"); }
void Module::to(ScalarType dtype, bool) { check_float_dtype(dtype, "Module::to"); }

void Module::zero_grad() {
  for (Variable& p : parameters()) p.zero_grad();
}

std::size_t Module::num_parameters(bool trainable_only) const {
  std::size_t n = 0;
  for (const Variable& p : parameters())
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

// ------------------------------------------------------------------------------- state dicts

StateDict Module::state_dict() const {
  StateDict dict;
  // PyTorch's order: each module's parameters, then its buffers, then its children.
  for (auto& [prefix, m] : named_modules()) {
    const std::string dot = prefix.empty() ? "" : prefix + ".";
    for (const auto& p : m->parameters_) dict.insert(dot + p.name, p.var.value(), p.dtype);
    for (const auto& b : m->buffers_) dict.insert(dot + b.name, b.var.value(), b.dtype);
  }
  return dict;
}

namespace {

// PyTorch's list: "a", "b". At most 100 keys of at most 60 bytes each, so that a hostile or
// unrelated file cannot make a message of megabytes.
std::string key_list(const std::vector<std::string>& keys) {
  constexpr std::size_t kMaxKeys = 100;
  std::string out;
  for (std::size_t i = 0; i < keys.size() && i < kMaxKeys; ++i)
    out += (i ? ", \"" : "\"") + detail::clip(keys[i]) + "\"";
  if (keys.size() > kMaxKeys) out += " and " + std::to_string(keys.size() - kMaxKeys) + " more";
  return out + ".";
}

}  // namespace

void Module::load_checked(const std::function<const Tensor*(const std::string&)>& lookup,
                          const std::vector<std::string>& keys, bool strict) {
  std::vector<std::pair<Variable, const Tensor*>> assignments;
  std::set<std::string> known;
  std::vector<std::string> missing, unexpected;
  for (auto& [prefix, m] : named_modules()) {
    const std::string dot = prefix.empty() ? "" : prefix + ".";
    for (const auto* list : {&m->parameters_, &m->buffers_})
      for (const auto& slot : *list) {
        const std::string key = dot + slot.name;
        known.insert(key);
        const Tensor* t = lookup(key);
        if (!t) {
          // BatchNorm's counter may be absent, as PyTorch's strict load allows (state dicts
          // from before the buffer existed, files written without it): it keeps its value.
          if (list != &m->buffers_ || slot.name != "num_batches_tracked") missing.push_back(key);
          continue;
        }
        TG_CHECK(t->shape() == slot.var.shape(), "load_state_dict: expected '", key, "' of shape ",
                 shape_str(slot.var.shape()), ", got ", shape_str(t->shape()));
        assignments.emplace_back(slot.var, t);
      }
  }
  for (const auto& key : keys)
    if (!known.count(key)) unexpected.push_back(key);
  // As PyTorch: every missing and unexpected key at once.
  if (strict && (!missing.empty() || !unexpected.empty())) {
    std::string message = "load_state_dict: expected the module's keys, got ";
    if (!missing.empty()) message += "Missing key(s) in state_dict: " + key_list(missing);
    if (!unexpected.empty())
      message += std::string(missing.empty() ? "" : " ") +
                 "Unexpected key(s) in state_dict: " + key_list(unexpected);
    TG_CHECK(false, message, " (load with strict = false to skip them)");
  }
  for (auto& [var, t] : assignments) var.value() = *t;
}

void Module::load_state_dict(const StateDict& dict, bool strict) {
  std::vector<std::string> keys;
  for (const auto& e : dict) keys.push_back(e.name);
  load_checked([&](const std::string& k) { return dict.find(k); }, keys, strict);
}

void Module::load_state_dict(const std::map<std::string, Tensor>& dict, bool strict) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : dict) keys.push_back(k);
  load_checked(
      [&](const std::string& k) -> const Tensor* {
        auto it = dict.find(k);
        return it == dict.end() ? nullptr : &it->second;
      },
      keys, strict);
}

// --------------------------------------------------------------------------------- printing

namespace {

// PyTorch's _addindent: every line after the first is indented.
std::string add_indent(const std::string& text, int spaces) {
  std::string out;
  for (char ch : text) {
    out += ch;
    if (ch == '\n') out.append(static_cast<std::size_t>(spaces), ' ');
  }
  return out;
}

}  // namespace

std::string repr(const Module& module) {
  std::vector<std::string> lines;
  std::string extra = module.extra_repr();
  const bool has_extra = !extra.empty();
  if (has_extra) {
    std::istringstream in(extra);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  const auto kids = module.named_children();
  for (const auto& [name, child] : kids)
    lines.push_back("(" + name + "): " + add_indent(repr(*child), 2));
  std::string out = module.name() + "(";
  if (has_extra && kids.empty() && extra.find('\n') == std::string::npos) {
    out += extra;
  } else if (!lines.empty()) {
    out += "\n";
    for (const auto& line : lines) out += "  " + line + "\n";
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& out, const Module& module) {
  out << repr(module);
  if (!module.children().empty()) {
    out << "\nparameters: " << detail::thousands(module.num_parameters())
        << " (trainable: " << detail::thousands(module.num_parameters(true)) << ")";
  }
  return out;
}

// ------------------------------------------------------------------------------------ Layer

namespace detail {

std::vector<CallRecord>*& call_log() {
  thread_local std::vector<CallRecord>* log = nullptr;
  return log;
}

void note_call(const Module& module, const Shape& in, const Shape& out, std::uint64_t macs) {
  if (auto* log = call_log()) log->push_back({&module, in, out, macs});
}

}  // namespace detail

void ModuleScope::enter(const Module& module) {
  // Already the innermost (a scope around the model, then its own call operator): no "X.X".
  if (::tg::detail::current_module() == &module) return;
  // The segment is the name the enclosing module registered this one under ("conv1"); a module
  // with no enclosing scope (or not registered in it) is named by its type.
  std::string segment;
  if (auto* parent = static_cast<const Module*>(::tg::detail::current_module()))
    for (const auto& [name, child] : parent->named_children())
      if (child == &module) segment = name;
  if (segment.empty()) segment = module.name();
  ::tg::detail::push_module(&module, std::move(segment), module.name());
  active_ = true;
}

Variable Layer::operator()(const Variable& x) {
  ModuleScope scope(*this);  // names this layer in anomaly-mode errors
  Variable y = forward(x);
  if (detail::call_log())
    detail::note_call(*this, x.shape(), y.shape(), multiply_adds(x.shape(), y.shape()));
  return y;
}

Variable Layer::operator()(Variable&& x) {
  ModuleScope scope(*this);
  if (!detail::call_log()) return forward_owned(std::move(x));
  const Shape in = x.shape();
  Variable y = forward_owned(std::move(x));
  detail::note_call(*this, in, y.shape(), multiply_adds(in, y.shape()));
  return y;
}

}  // namespace tg::nn
