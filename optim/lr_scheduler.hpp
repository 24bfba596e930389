#pragma once
/// @file
/// Learning-rate schedulers: torch.optim.lr_scheduler's, with PyTorch's numbers. Like PyTorch,
/// they are chainable: each step() computes the next rate from the group's current one (the
/// recursive forms), and constructing a scheduler performs its first step (epoch 0). Call
/// scheduler.step() after optimizer.step(), once per epoch or per iteration as the schedule means.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/nn/safetensors.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tg::optim {

/// Base of every scheduler: the optimizer it drives, the epoch count and the last rates set.
class LRScheduler {
 public:
  ///@{
  /// Not copyable: a scheduler drives one optimizer.
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;
  ///@}
  virtual ~LRScheduler() = default;

  /// "StepLR", "CosineAnnealingLR", ...
  const std::string& name() const { return name_; }
  /// Advances one epoch and sets every group's learning rate.
  virtual void step();
  /// The learning rates the last step set, one per group.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// Steps taken since the schedule began (0 right after construction).
  std::int64_t last_epoch() const { return last_epoch_; }
  /// The groups' rates when the first scheduler was attached (PyTorch's initial_lr).
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  /// The optimizer whose rates it sets.
  Optimizer& optimizer() const { return optimizer_; }

  /// Position as metadata: "scheduler" (the name), "last_epoch", "step_count", "base_lrs",
  /// "last_lr" and what the scheduler adds; no tensors. Hyperparameters are the constructor's,
  /// except one a caller may change mid-run (CosineAnnealingLR's T_max).
  nn::TensorArchive state_dict() const;
  /// Restores a state_dict() of a scheduler of the same type over as many groups.
  void load_state_dict(const nn::TensorArchive& archive);

 protected:
  /// Records `optimizer`'s initial_lr (setting it from lr where unset) as base_lrs.
  LRScheduler(std::string name, Optimizer& optimizer);
  /// PyTorch's _initial_step: derived constructors call it last (it calls compute_lr).
  void initial_step();
  /// The chainable form: the groups' rates at last_epoch_ (already advanced).
  virtual std::vector<double> compute_lr() = 0;
  /// The closed form at last_epoch_, where PyTorch has one (used by SequentialLR).
  virtual std::optional<std::vector<double>> closed_form_lr() const { return std::nullopt; }
  ///@{
  /// Adds or reads back a derived scheduler's state under `prefix`.
  virtual void save_state(std::map<std::string, std::string>& meta, const std::string& prefix) const;
  virtual void load_state(const std::map<std::string, std::string>& meta, const std::string& prefix);
  ///@}
  /// Throws tg::Error when the optimizer gained groups since the scheduler was built.
  void check_groups() const;
  /// Sets the groups' rates and last_lr.
  void apply(const std::vector<double>& lrs);
  /// The deprecated step(epoch): jumps to `epoch` through the closed form when there is one.
  void step_to(std::int64_t epoch);

  Optimizer& optimizer_;          ///< the optimizer driven
  std::vector<double> base_lrs_;  ///< see base_lrs()
  std::int64_t last_epoch_ = -1;  ///< see last_epoch(); -1 until the initial step
  std::int64_t step_count_ = 0;   ///< step() calls, the initial step included
  std::vector<double> last_lr_;   ///< see get_last_lr()

 private:
  friend class SequentialLR;
  std::string name_;
};

/// lr *= gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  /// step_size >= 1 epochs, else tg::Error.
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> compute_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// lr *= gamma at each milestone epoch (a milestone listed k times multiplies by gamma^k).
class MultiStepLR : public LRScheduler {
 public:
  /// Milestones are epoch numbers, in any order.
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);

 protected:
  std::vector<double> compute_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  std::vector<std::int64_t> milestones_;  // sorted
  double gamma_;
};

/// lr *= gamma every epoch.
class ExponentialLR : public LRScheduler {
 public:
  /// The factor applied at every step.
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> compute_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  double gamma_;
};

/// eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2, through PyTorch's recursive
/// form (which keeps going past T_max, back up, as PyTorch's does).
class CosineAnnealingLR : public LRScheduler {
 public:
  /// Half a cosine period of T_max >= 1 steps (else tg::Error) down to eta_min.
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0);

  /// The current half period, in steps.
  std::int64_t T_max() const { return t_max_; }
  /// PyTorch's `scheduler.T_max = n`: the recursive form continues from the current rate, so a
  /// run that learns mid-way that it has more or fewer steps ends at eta_min at its new T_max
  /// without a jump. Saved in the state, as PyTorch's state_dict does.
  void set_T_max(std::int64_t T_max);

 protected:
  std::vector<double> compute_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;
  void save_state(std::map<std::string, std::string>& meta, const std::string& prefix) const override;
  void load_state(const std::map<std::string, std::string>& meta, const std::string& prefix) override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

/// LinearLR's options (PyTorch's defaults).
struct LinearLROptions {
  double start_factor = 1.0 / 3;  ///< in (0, 1]
  double end_factor = 1.0;        ///< in [0, 1]
  std::int64_t total_iters = 5;   ///< >= 1
};

/// Warm-up: lr = base_lr * factor, factor going linearly from start_factor to end_factor over
/// total_iters steps, then constant.
class LinearLR : public LRScheduler {
 public:
  /// Factors out of range throw tg::Error.
  LinearLR(Optimizer& optimizer, LinearLROptions options = {});

 protected:
  std::vector<double> compute_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  LinearLROptions o_;
};

/// Runs schedulers one after the other: scheduler k+1 takes over (restarted at its epoch 0)
/// at milestone k. Warm-up then cosine:
/// @code
/// LinearLR warmup(opt, {.start_factor = 0.1, .total_iters = 5});
/// CosineAnnealingLR cosine(opt, 95);
/// SequentialLR schedule(opt, {warmup, cosine}, {5});
/// @endcode
/// The schedulers are the caller's and must outlive this one.
class SequentialLR : public LRScheduler {
 public:
  /// One more scheduler than milestones, sorted milestones, every scheduler on `optimizer`
  /// and none a ReduceLROnPlateau; else tg::Error.
  SequentialLR(Optimizer& optimizer, std::vector<std::reference_wrapper<LRScheduler>> schedulers,
               std::vector<std::int64_t> milestones);
  /// Steps the scheduler in charge, switching to the next one at a milestone.
  void step() override;

 protected:
  std::vector<double> compute_lr() override { return optimizer_.lrs(); }
  void save_state(std::map<std::string, std::string>& meta, const std::string& prefix) const override;
  void load_state(const std::map<std::string, std::string>& meta, const std::string& prefix) override;

 private:
  std::vector<std::reference_wrapper<LRScheduler>> schedulers_;
  std::vector<std::int64_t> milestones_;
};

/// OneCycleLR's options (PyTorch's defaults).
struct OneCycleLROptions {
  double pct_start = 0.3;                ///< share of the steps spent increasing the rate
  std::string anneal_strategy = "cos";   ///< "cos" or "linear"
  bool cycle_momentum = true;            ///< cycle momentum (SGD, RMSprop) or beta1 (Adam)
  double base_momentum = 0.85;           ///< momentum (beta1) at the peak learning rate
  double max_momentum = 0.95;            ///< momentum (beta1) at the lowest learning rates
  double div_factor = 25.0;              ///< initial_lr = max_lr / div_factor
  double final_div_factor = 1e4;         ///< min_lr = initial_lr / final_div_factor
  bool three_phase = false;              ///< a third phase annealing to min_lr (else two phases)
};

/// The 1cycle policy: lr from max_lr / div_factor up to max_lr, then down to min_lr, over
/// total_steps steps (call step() once per batch); momentum moves the opposite way.
class OneCycleLR : public LRScheduler {
 public:
  /// The same max_lr for every group; total_steps > 0 (a step() past it throws tg::Error).
  OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps,
             OneCycleLROptions options = {});
  /// One max_lr per group.
  OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, std::int64_t total_steps,
             OneCycleLROptions options = {});

 protected:
  std::vector<double> compute_lr() override;

 private:
  struct Phase {
    double end_step;
    int start_lr, end_lr, start_momentum, end_momentum;  // indices into lrs_ / momenta_ rows
  };
  double anneal(double start, double end, double pct) const;
  std::int64_t total_steps_;
  OneCycleLROptions o_;
  std::vector<Phase> phases_;
  std::vector<std::array<double, 3>> lrs_;      // per group: initial, max, min
  std::vector<std::array<double, 2>> momenta_;  // per group: max, base
};

/// ReduceLROnPlateau's options (PyTorch's defaults).
struct ReduceLROnPlateauOptions {
  std::string mode = "min";            ///< "min": lower metric is better; "max": higher
  double factor = 0.1;                 ///< new lr = lr * factor, in [0, 1)
  std::int64_t patience = 10;          ///< epochs without improvement tolerated
  double threshold = 1e-4;             ///< what counts as an improvement
  std::string threshold_mode = "rel";  ///< "rel": best * (1 -+ threshold); "abs": best -+ threshold
  std::int64_t cooldown = 0;           ///< epochs to wait after a reduction
  double min_lr = 0.0;                 ///< lower bound of every group's lr
  std::vector<double> min_lrs = {};    ///< one lower bound per group (overrides min_lr)
  double eps = 1e-8;                   ///< smaller changes of lr are not made
};

/// Divides the learning rate by 1 / factor when a metric stops improving: step(metric).
class ReduceLROnPlateau : public LRScheduler {
 public:
  /// Options out of range throw tg::Error.
  explicit ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  /// Throws: this scheduler needs the metric.
  void step() override;
  /// One epoch with this value of the monitored metric (e.g. validation loss).
  void step(double metric);

 protected:
  std::vector<double> compute_lr() override { return optimizer_.lrs(); }
  void save_state(std::map<std::string, std::string>& meta, const std::string& prefix) const override;
  void load_state(const std::map<std::string, std::string>& meta, const std::string& prefix) override;

 private:
  bool is_better(double a, double best) const;
  ReduceLROnPlateauOptions o_;
  double best_;
  std::int64_t num_bad_epochs_ = 0;
  std::int64_t cooldown_counter_ = 0;
};

}  // namespace tg::optim
