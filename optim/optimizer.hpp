#pragma once
/// @file
/// The Optimizer base: parameter groups (each with its own options), per-parameter state
/// (step count and buffers such as momentum or Adam's moments), and the state's save/restore as
/// named tensors plus string scalars (the content of a safetensors file, see checkpoint.hpp).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/variable.hpp"
#include "tapegrad/nn/safetensors.hpp"

namespace tg::optim {

/// What one parameter carries between steps: how many updates it had, and the optimizer's
/// buffers (created on its first update), in the order of Optimizer::buffer_names().
struct ParamState {
  std::int64_t step = 0;                       ///< updates made so far
  std::vector<std::optional<Tensor>> buffers;  ///< each empty until the first update
};

/// Visits every field of an options struct by name (how group options are saved and restored).
struct OptionVisitor {
  virtual ~OptionVisitor() = default;
  /// Sees (and may set) the number option `name` ("lr", "momentum").
  virtual void operator()(const char* name, double& value) = 0;
  /// Sees (and may set) the flag option `name` ("nesterov", "amsgrad").
  virtual void operator()(const char* name, bool& value) = 0;
};

/// Parameters with the options that differ from the optimizer's defaults (unset fields inherit
/// them): SGD opt({{backbone, {.lr = 1e-3}}, {head}}, {.lr = 0.01, .momentum = 0.9}).
template <class GroupOptions>
struct ParamGroup {
  std::vector<Variable> params;  ///< the group's parameters (leaves, each in one group only)
  GroupOptions options = {};     ///< the options set for this group; unset ones are the defaults
};

/// One parameter group as LibTorch's `optimizer.param_groups()` presents it: its parameters and
/// its options, writable: `for (auto& g : opt.param_groups()) g.options().lr(g.options().lr() * 0.1);`
/// A view into the optimizer: valid until a group is added.
template <class Options>
class OptimizerParamGroup {
 public:
  /// A view of `params` and `options` (the optimizer's own).
  OptimizerParamGroup(const std::vector<Variable>& params, Options& options)
      : params_(&params), options_(&options) {}
  /// The group's parameters, in the order they were given.
  const std::vector<Variable>& params() const { return *params_; }
  /// The group's options (lr, momentum, ...), writable.
  Options& options() const { return *options_; }
  /// Always true (LibTorch's groups may lack options; these never do).
  bool has_options() const { return true; }

 private:
  const std::vector<Variable>* params_;
  Options* options_;
};

/// Base of every optimizer: zero_grad(), step(), groups' learning rates, state save/restore.
class Optimizer {
 public:
  /// Not copyable: the state belongs to one set of parameters.
  Optimizer(const Optimizer&) = delete;
  /// Not assignable.
  Optimizer& operator=(const Optimizer&) = delete;
  virtual ~Optimizer() = default;

  /// "SGD", "Adam", "AdamW" or "RMSprop".
  const std::string& name() const { return name_; }
  /// One update of every parameter that has a gradient; those without one (frozen, unused)
  /// are left alone, state included.
  void step();
  /// Drops every parameter's gradient (PyTorch's set_to_none = true).
  void zero_grad();

  /// Number of parameter groups (1 for an optimizer built from a parameter list).
  std::size_t num_param_groups() const { return params_.size(); }
  /// The parameters of one group, in the order they were given.
  const std::vector<Variable>& params(std::size_t group) const;
  /// A group's learning rate (what schedulers read and write).
  virtual double lr(std::size_t group) const = 0;
  /// Sets a group's learning rate.
  virtual void set_lr(std::size_t group, double lr) = 0;
  /// Every group's learning rate.
  std::vector<double> lrs() const;
  /// The momentum OneCycleLR cycles: SGD's and RMSprop's momentum, Adam's beta1.
  virtual double momentum(std::size_t group) const = 0;
  /// Sets that momentum (Adam's beta1).
  virtual void set_momentum(std::size_t group, double momentum) = 0;
  /// The learning rate schedulers start from (PyTorch's group['initial_lr']), once one set it.
  std::optional<double> initial_lr(std::size_t group) const;
  /// Records a group's initial learning rate (a scheduler's constructor does).
  void set_initial_lr(std::size_t group, double lr);

  /// One parameter's state (group, index within the group).
  const ParamState& state(std::size_t group, std::size_t index) const;
  /// Names of the per-parameter buffers ("momentum_buffer", "exp_avg", ...).
  virtual std::vector<std::string> buffer_names() const = 0;

  /// The state as tensors "state.<i>.<buffer>" (i counts parameters over all groups) and
  /// metadata "optimizer", "param_groups", "param_groups.<g>.<option>", "state.<i>.step".
  nn::TensorArchive state_dict() const;
  /// Restores what state_dict() gave (groups' options too), after checking that it belongs to
  /// the same optimizer type with the same groups and parameter shapes; nothing changes when
  /// it throws.
  void load_state_dict(const nn::TensorArchive& archive);

 protected:
  /// An optimizer without parameters yet, named `name` (its state_dict's "optimizer").
  explicit Optimizer(std::string name) : name_(std::move(name)) {}
  /// Appends a group's parameters after checking them (defined leaves, none seen before).
  void add_params(std::vector<Variable> params);
  /// Updates one parameter (value and gradient of equal shape) of `group`.
  virtual void update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state) = 0;
  /// Presents a group's options to a visitor (reading or writing them).
  virtual void visit_options(std::size_t group, OptionVisitor& visitor) = 0;
  /// Checks a group's options after they were restored.
  virtual void check_group(std::size_t group) const = 0;

 private:
  std::vector<std::vector<ParamState>> parse_state(const nn::TensorArchive& archive,
                                                   const std::string& owner) const;
  void restore_options(const std::map<std::string, std::string>& meta);

  std::string name_;
  std::vector<std::vector<Variable>> params_;
  std::vector<std::vector<ParamState>> state_;
  std::vector<std::optional<double>> initial_lr_;
};

/// An optimizer with an options struct: `Options` holds values with defaults, `GroupOptions`
/// the same fields as std::optional. Needs, found by argument-dependent lookup:
/// check_options(const Options&, const char* name), merge_options(Options, const GroupOptions&)
/// and for_each_option(Options&, OptionVisitor&).
template <class Options, class GroupOptions>
class BasicOptimizer : public Optimizer {
 public:
  /// A parameter group of this optimizer: `{params, {.lr = 1e-3}}`.
  using Group = ParamGroup<GroupOptions>;

  /// The options groups inherit unless they set their own.
  const Options& defaults() const { return defaults_; }
  /// A group's options, writable (lr, momentum, weight_decay...).
  Options& options(std::size_t group) { return options_.at(checked(group)); }
  /// A group's options; an index past the last group throws tg::Error.
  const Options& options(std::size_t group) const { return options_.at(checked(group)); }
  /// Every group's parameters and options, LibTorch's form (see OptimizerParamGroup).
  std::vector<OptimizerParamGroup<Options>> param_groups() {
    std::vector<OptimizerParamGroup<Options>> groups;
    groups.reserve(options_.size());
    for (std::size_t g = 0; g < options_.size(); ++g) groups.emplace_back(params(g), options_[g]);
    return groups;
  }
  /// Adds parameters with their own options (e.g. layers unfrozen during fine-tuning).
  void add_param_group(Group group) {
    Options merged = merge_options(defaults_, group.options);
    check_options(merged, name().c_str());
    add_params(std::move(group.params));
    options_.push_back(merged);
  }

  /// options(group).lr.
  double lr(std::size_t group) const override { return options(group).lr; }
  /// Sets options(group).lr.
  void set_lr(std::size_t group, double lr) override { options(group).lr = lr; }

 protected:
  /// Checks `defaults` and each group's merged options (tg::Error naming the optimizer and
  /// the option); no parameter at all is an error too.
  BasicOptimizer(std::string name, std::vector<Group> groups, Options defaults)
      : Optimizer(std::move(name)), defaults_(defaults) {
    check_options(defaults_, this->name().c_str());
    std::size_t count = 0;
    for (auto& group : groups) {
      count += group.params.size();
      add_param_group(std::move(group));
    }
    TG_CHECK(count > 0, this->name(), ": expected at least one parameter, got an empty list");
  }
  /// for_each_option on the group's options.
  void visit_options(std::size_t group, OptionVisitor& visitor) override {
    for_each_option(options(group), visitor);
  }
  /// How far below 0 a restored lr may be. PyTorch's schedules can leave lr a little below 0
  /// (LinearLR to end_factor 0 by rounding, about -2e-18; OneCycleLR's last linear phase, -3e-5
  /// in our golden runs), and a checkpoint taken there must resume; anything further below 0
  /// is not a schedule's doing.
  static constexpr double schedule_undershoot = 1e-4;
  /// check_options on the restored options, a schedule's small undershoot of lr forgiven.
  void check_group(std::size_t group) const override {
    Options loaded = options(group);
    TG_CHECK(std::isfinite(loaded.lr) && loaded.lr >= -schedule_undershoot, name(),
             ": expected lr >= 0 and finite (a schedule may leave it up to 1e-4 below), got ",
             loaded.lr);
    loaded.lr = std::max(double(loaded.lr), 0.0);
    check_options(loaded, name().c_str());
  }
  /// update_param with the group's options.
  void update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state) override {
    update_param(options_[group], value, grad, state);
  }
  /// Updates one parameter with its group's options.
  virtual void update_param(const Options& options, Tensor& value, const Tensor& grad,
                            ParamState& state) = 0;

 private:
  std::size_t checked(std::size_t group) const {
    TG_CHECK(group < options_.size(), name(), ": expected a parameter group index below ",
             options_.size(), ", got ", group);
    return group;
  }
  Options defaults_;
  std::vector<Options> options_;
};

namespace detail {
/// Writes options into metadata as "<prefix><name>" (doubles in shortest round-trip form).
struct OptionWriter : OptionVisitor {
  std::map<std::string, std::string>& out;
  std::string prefix;
  OptionWriter(std::map<std::string, std::string>& o, std::string p) : out(o), prefix(std::move(p)) {}
  void operator()(const char* name, double& value) override;
  void operator()(const char* name, bool& value) override;
};
/// Reads options back, throwing tg::Error naming a missing or malformed entry.
struct OptionReader : OptionVisitor {
  const std::map<std::string, std::string>& in;
  std::string prefix;
  OptionReader(const std::map<std::string, std::string>& i, std::string p) : in(i), prefix(std::move(p)) {}
  void operator()(const char* name, double& value) override;
  void operator()(const char* name, bool& value) override;
};
/// A double as the shortest text that reads back to the same bits ("0.1", "inf").
std::string format_double(double value);
/// Parses format_double's text; throws tg::Error naming `what` when malformed.
double parse_double(const std::string& text, const std::string& what);
/// Parses a decimal integer; throws tg::Error naming `what` when malformed.
std::int64_t parse_int(const std::string& text, const std::string& what);
/// Largest step or epoch count a state may hold: exact as a double (the bias corrections use
/// it), and far from where the next ++ would overflow.
inline constexpr std::int64_t kMaxCount = std::int64_t{1} << 53;
/// parse_int, then checks min <= value <= kMaxCount.
std::int64_t parse_count(const std::string& text, const std::string& what, std::int64_t min);
/// Throws tg::Error "<owner>: expected <name> <range>, got <value>" unless `value` is finite
/// and lo <= value (< or <=) hi; the option checks on construction and on load.
void check_range(const char* owner, const char* name, double value, double lo, double hi,
                 bool hi_open = false);
/// Throws unless `value` is finite and >= 0 (lr, weight_decay).
void check_nonnegative(const char* owner, const char* name, double value);
/// The metadata entry `key`; throws tg::Error naming `owner` and the key when absent.
const std::string& require(const std::map<std::string, std::string>& metadata,
                           const std::string& key, const std::string& owner);
}  // namespace detail

}  // namespace tg::optim
