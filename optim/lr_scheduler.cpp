#include "tapegrad/optim/lr_scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tapegrad/autograd/error.hpp"

// The arithmetic below follows torch/optim/lr_scheduler.py (1.13) expression by expression,
// in double, so that the rates are PyTorch's own numbers (up to the compiler's use of FMA).

namespace tg::optim {
namespace {

constexpr double kPi = std::numbers::pi;

std::string join(const std::vector<double>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += detail::format_double(values[i]);
  }
  return out;
}

std::vector<double> split(const std::string& text, const std::string& what) {
  std::vector<double> out;
  std::size_t begin = 0;
  while (begin <= text.size() && !text.empty()) {
    const auto comma = std::min(text.find(',', begin), text.size());
    out.push_back(detail::parse_double(text.substr(begin, comma - begin), what));
    begin = comma + 1;
  }
  return out;
}

std::vector<double> scaled(std::vector<double> lrs, double factor) {
  for (double& lr : lrs) lr = lr * factor;
  return lrs;
}

}  // namespace

// ---- LRScheduler ----------------------------------------------------------------------------

LRScheduler::LRScheduler(std::string name, Optimizer& optimizer)
    : optimizer_(optimizer), name_(std::move(name)) {
  for (std::size_t g = 0; g < optimizer.num_param_groups(); ++g) {
    if (!optimizer.initial_lr(g)) optimizer.set_initial_lr(g, optimizer.lr(g));
    base_lrs_.push_back(*optimizer.initial_lr(g));
  }
  last_lr_ = optimizer.lrs();
}

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

void LRScheduler::check_groups() const {
  TG_CHECK(base_lrs_.size() == optimizer_.num_param_groups(), name_, ": expected the ",
           base_lrs_.size(), " parameter groups the optimizer had when the scheduler was built, got ",
           optimizer_.num_param_groups(), " (create schedulers after adding parameter groups)");
}

void LRScheduler::step() {
  check_groups();
  ++step_count_;
  ++last_epoch_;
  apply(compute_lr());
}

void LRScheduler::step_to(std::int64_t epoch) {
  check_groups();
  ++step_count_;
  last_epoch_ = epoch;
  auto closed = closed_form_lr();
  apply(closed ? *closed : compute_lr());
}

void LRScheduler::apply(const std::vector<double>& lrs) {
  TG_ASSERT(lrs.size() == optimizer_.num_param_groups(), name_, " computed ", lrs.size(), " rates");
  for (std::size_t g = 0; g < lrs.size(); ++g) optimizer_.set_lr(g, lrs[g]);
  last_lr_ = optimizer_.lrs();
}

nn::TensorArchive LRScheduler::state_dict() const {
  nn::TensorArchive out;
  save_state(out.metadata, "");
  return out;
}

void LRScheduler::load_state_dict(const nn::TensorArchive& archive) {
  load_state(archive.metadata, "");
}

void LRScheduler::save_state(std::map<std::string, std::string>& meta, const std::string& prefix) const {
  meta[prefix + "scheduler"] = name_;
  meta[prefix + "last_epoch"] = std::to_string(last_epoch_);
  meta[prefix + "step_count"] = std::to_string(step_count_);
  meta[prefix + "base_lrs"] = join(base_lrs_);
  meta[prefix + "last_lr"] = join(last_lr_);
}

void LRScheduler::load_state(const std::map<std::string, std::string>& meta, const std::string& prefix) {
  const std::string owner = name_ + ".load_state_dict";
  auto get = [&](const char* key) { return detail::require(meta, prefix + key, owner); };
  const std::string type = get("scheduler");
  TG_CHECK(type == name_, owner, ": expected the state of a ", name_, ", got that of a ",
           nn::detail::clip(type));
  // Counters bounded so that the next step() cannot overflow; -1 is "before the first step".
  const auto last_epoch = detail::parse_count(get("last_epoch"), prefix + "last_epoch", -1);
  const auto step_count = detail::parse_count(get("step_count"), prefix + "step_count", 0);
  auto base_lrs = split(get("base_lrs"), prefix + "base_lrs");
  auto last_lr = split(get("last_lr"), prefix + "last_lr");
  TG_CHECK(base_lrs.size() == base_lrs_.size() && last_lr.size() == base_lrs_.size(), owner,
           ": expected rates of ", base_lrs_.size(), " parameter groups, got ", base_lrs.size());
  for (double lr : base_lrs) detail::check_nonnegative(owner.c_str(), "base_lrs", lr);
  // last_lr only finite: PyTorch's schedules can end below 0 (OneCycleLR's last linear step).
  for (double lr : last_lr)
    TG_CHECK(std::isfinite(lr), owner, ": expected a finite last_lr, got ", lr);
  last_epoch_ = last_epoch;
  step_count_ = step_count;
  base_lrs_ = std::move(base_lrs);
  last_lr_ = std::move(last_lr);
}

// ---- StepLR, MultiStepLR, ExponentialLR -----------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler("StepLR", optimizer), step_size_(step_size), gamma_(gamma) {
  TG_CHECK(step_size >= 1, "StepLR: expected step_size >= 1, got ", step_size);
  initial_step();
}

std::vector<double> StepLR::compute_lr() {
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return optimizer_.lrs();
  return scaled(optimizer_.lrs(), gamma_);
}

std::optional<std::vector<double>> StepLR::closed_form_lr() const {
  return scaled(base_lrs_, std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_)));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler("MultiStepLR", optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::compute_lr() {
  const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (hits == 0) return optimizer_.lrs();
  return scaled(optimizer_.lrs(), std::pow(gamma_, static_cast<double>(hits)));
}

std::optional<std::vector<double>> MultiStepLR::closed_form_lr() const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) -
                      milestones_.begin();
  return scaled(base_lrs_, std::pow(gamma_, static_cast<double>(passed)));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : LRScheduler("ExponentialLR", optimizer), gamma_(gamma) {
  initial_step();
}

std::vector<double> ExponentialLR::compute_lr() {
  if (last_epoch_ == 0) return optimizer_.lrs();
  return scaled(optimizer_.lrs(), gamma_);
}

std::optional<std::vector<double>> ExponentialLR::closed_form_lr() const {
  return scaled(base_lrs_, std::pow(gamma_, static_cast<double>(last_epoch_)));
}

// ---- CosineAnnealingLR ----------------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LRScheduler("CosineAnnealingLR", optimizer), t_max_(T_max), eta_min_(eta_min) {
  TG_CHECK(T_max >= 1, "CosineAnnealingLR: expected T_max >= 1, got ", T_max);
  initial_step();
}

void CosineAnnealingLR::set_T_max(std::int64_t T_max) {
  TG_CHECK(T_max >= 1, "CosineAnnealingLR.set_T_max: expected T_max >= 1, got ", T_max);
  t_max_ = T_max;
}

void CosineAnnealingLR::save_state(std::map<std::string, std::string>& meta, const std::string& prefix) const {
  LRScheduler::save_state(meta, prefix);
  meta[prefix + "T_max"] = std::to_string(t_max_);
}

void CosineAnnealingLR::load_state(const std::map<std::string, std::string>& meta, const std::string& prefix) {
  // States saved before T_max could change lack it: the constructor's is theirs. Parsed first,
  // so that a bad one changes nothing.
  const auto saved = meta.find(prefix + "T_max");
  const std::int64_t t_max = saved == meta.end() ? t_max_ : detail::parse_count(saved->second, prefix + "T_max", 1);
  LRScheduler::load_state(meta, prefix);
  t_max_ = t_max;
}

std::vector<double> CosineAnnealingLR::compute_lr() {
  std::vector<double> lrs = optimizer_.lrs();
  const double e = static_cast<double>(last_epoch_), t = static_cast<double>(t_max_);
  if (last_epoch_ == 0) return lrs;
  for (std::size_t g = 0; g < lrs.size(); ++g) {
    const double base = base_lrs_[g];
    if (step_count_ == 1 && last_epoch_ > 0)
      lrs[g] = eta_min_ + (base - eta_min_) * (1 + std::cos(e * kPi / t)) / 2;
    else if ((last_epoch_ - 1 - t_max_) % (2 * t_max_) == 0)
      // One step past a trough, where the ratio below would divide by zero.
      lrs[g] = lrs[g] + (base - eta_min_) * (1 - std::cos(kPi / t)) / 2;
    else
      lrs[g] = (1 + std::cos(kPi * e / t)) / (1 + std::cos(kPi * (e - 1) / t)) *
                   (lrs[g] - eta_min_) + eta_min_;
  }
  return lrs;
}

std::optional<std::vector<double>> CosineAnnealingLR::closed_form_lr() const {
  std::vector<double> lrs;
  const double e = static_cast<double>(last_epoch_), t = static_cast<double>(t_max_);
  for (double base : base_lrs_)
    lrs.push_back(eta_min_ + (base - eta_min_) * (1 + std::cos(kPi * e / t)) / 2);
  return lrs;
}

// ---- LinearLR -------------------------------------------------------------------------------

LinearLR::LinearLR(Optimizer& optimizer, LinearLROptions options)
    : LRScheduler("LinearLR", optimizer), o_(options) {
  TG_CHECK(o_.start_factor > 0 && o_.start_factor <= 1,
           "LinearLR: expected start_factor in (0, 1], got ", o_.start_factor);
  TG_CHECK(o_.end_factor >= 0 && o_.end_factor <= 1,
           "LinearLR: expected end_factor in [0, 1], got ", o_.end_factor);
  TG_CHECK(o_.total_iters >= 1, "LinearLR: expected total_iters >= 1, got ", o_.total_iters);
  initial_step();
}

std::vector<double> LinearLR::compute_lr() {
  if (last_epoch_ == 0) return scaled(optimizer_.lrs(), o_.start_factor);
  if (last_epoch_ > o_.total_iters) return optimizer_.lrs();
  const double span = o_.end_factor - o_.start_factor;
  const double factor = 1. + span / (static_cast<double>(o_.total_iters) * o_.start_factor +
                                     static_cast<double>(last_epoch_ - 1) * span);
  return scaled(optimizer_.lrs(), factor);
}

std::optional<std::vector<double>> LinearLR::closed_form_lr() const {
  std::vector<double> lrs;
  const double progress = static_cast<double>(std::min(o_.total_iters, last_epoch_));
  for (double base : base_lrs_)
    lrs.push_back(base * (o_.start_factor + (o_.end_factor - o_.start_factor) * progress /
                                                static_cast<double>(o_.total_iters)));
  return lrs;
}


// ---- SequentialLR ---------------------------------------------------------------------------

SequentialLR::SequentialLR(Optimizer& optimizer,
                           std::vector<std::reference_wrapper<LRScheduler>> schedulers,
                           std::vector<std::int64_t> milestones)
    : LRScheduler("SequentialLR", optimizer),
      schedulers_(std::move(schedulers)),
      milestones_(std::move(milestones)) {
  TG_CHECK(!schedulers_.empty(), "SequentialLR: expected at least one scheduler, got none");
  TG_CHECK(milestones_.size() + 1 == schedulers_.size(), "SequentialLR: expected ",
           schedulers_.size() - 1, " milestones (one fewer than schedulers), got ", milestones_.size());
  TG_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()),
           "SequentialLR: expected increasing milestones");
  for (std::size_t k = 0; k < schedulers_.size(); ++k) {
    const LRScheduler& s = schedulers_[k].get();
    TG_CHECK(&s.optimizer() == &optimizer, "SequentialLR: expected schedulers of the same "
             "optimizer, got scheduler ", k, " (", s.name(), ") of another one");
    TG_CHECK(dynamic_cast<const ReduceLROnPlateau*>(&s) == nullptr && &s != this,
             "SequentialLR: expected epoch-driven schedulers, got ", s.name(), " at index ", k);
  }
  // As PyTorch: undo the first steps the schedulers took when they were built, then start the
  // first one again from the initial rates.
  last_epoch_ = 0;
  for (std::size_t g = 0; g < optimizer.num_param_groups(); ++g)
    optimizer.set_lr(g, *optimizer.initial_lr(g));
  for (auto& s : schedulers_) s.get().last_epoch_ -= 1;
  schedulers_[0].get().initial_step();
  last_lr_ = schedulers_[0].get().get_last_lr();
}

void SequentialLR::step() {
  check_groups();
  ++step_count_;
  ++last_epoch_;
  const auto idx = static_cast<std::size_t>(
      std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin());
  LRScheduler& s = schedulers_[idx].get();
  if (idx > 0 && milestones_[idx - 1] == last_epoch_) s.step_to(0);
  else s.step();
  last_lr_ = s.get_last_lr();
}

void SequentialLR::save_state(std::map<std::string, std::string>& meta,
                              const std::string& prefix) const {
  LRScheduler::save_state(meta, prefix);
  for (std::size_t k = 0; k < schedulers_.size(); ++k)
    schedulers_[k].get().save_state(meta, prefix + "schedulers." + std::to_string(k) + ".");
}

void SequentialLR::load_state(const std::map<std::string, std::string>& meta,
                              const std::string& prefix) {
  LRScheduler::load_state(meta, prefix);
  for (std::size_t k = 0; k < schedulers_.size(); ++k)
    schedulers_[k].get().load_state(meta, prefix + "schedulers." + std::to_string(k) + ".");
}

// ---- OneCycleLR -----------------------------------------------------------------------------

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps,
                       OneCycleLROptions options)
    : OneCycleLR(optimizer, std::vector<double>(optimizer.num_param_groups(), max_lr),
                 total_steps, std::move(options)) {}

OneCycleLR::OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, std::int64_t total_steps,
                       OneCycleLROptions options)
    : LRScheduler("OneCycleLR", optimizer), total_steps_(total_steps), o_(std::move(options)) {
  TG_CHECK(total_steps > 0, "OneCycleLR: expected total_steps > 0, got ", total_steps);
  TG_CHECK(o_.pct_start >= 0 && o_.pct_start <= 1, "OneCycleLR: expected pct_start in [0, 1], got ",
           o_.pct_start);
  TG_CHECK(o_.anneal_strategy == "cos" || o_.anneal_strategy == "linear",
           "OneCycleLR: expected anneal_strategy \"cos\" or \"linear\", got \"", o_.anneal_strategy, "\"");
  TG_CHECK(max_lrs.size() == optimizer.num_param_groups(), "OneCycleLR: expected ",
           optimizer.num_param_groups(), " max_lr values (one per group), got ", max_lrs.size());
  TG_CHECK(o_.div_factor > 0 && o_.final_div_factor > 0,
           "OneCycleLR: expected div_factor and final_div_factor > 0, got ", o_.div_factor,
           " and ", o_.final_div_factor);
  const double steps = static_cast<double>(total_steps);
  // Rows of lrs_: 0 initial, 1 max, 2 min; of momenta_: 0 max, 1 base.
  if (o_.three_phase)
    phases_ = {{o_.pct_start * steps - 1, 0, 1, 0, 1},
               {2 * o_.pct_start * steps - 2, 1, 0, 1, 0},
               {steps - 1, 0, 2, 0, 0}};
  else
    phases_ = {{o_.pct_start * steps - 1, 0, 1, 0, 1}, {steps - 1, 1, 2, 1, 0}};
  for (std::size_t g = 0; g < max_lrs.size(); ++g) {
    const double initial = max_lrs[g] / o_.div_factor;
    lrs_.push_back({initial, max_lrs[g], initial / o_.final_div_factor});
    optimizer.set_initial_lr(g, initial);
    base_lrs_[g] = initial;
    momenta_.push_back({o_.max_momentum, o_.base_momentum});
    if (o_.cycle_momentum) optimizer.set_momentum(g, o_.max_momentum);
  }
  initial_step();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (o_.anneal_strategy == "linear") return (end - start) * pct + start;
  const double cos_out = std::cos(kPi * pct) + 1;
  return end + (start - end) / 2.0 * cos_out;
}

std::vector<double> OneCycleLR::compute_lr() {
  const double step_num = static_cast<double>(last_epoch_);
  TG_CHECK(last_epoch_ <= total_steps_, "OneCycleLR: expected at most total_steps = ",
           total_steps_, " steps, got step ", last_epoch_ + 1);
  std::vector<double> lrs(lrs_.size());
  for (std::size_t g = 0; g < lrs_.size(); ++g) {
    double start_step = 0;
    for (std::size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (step_num <= phase.end_step || i + 1 == phases_.size()) {
        TG_CHECK(phase.end_step != start_step, "OneCycleLR: expected phases longer than 0 steps, "
                 "got one ending where it starts (step ", start_step, "): raise total_steps");
        const double pct = (step_num - start_step) / (phase.end_step - start_step);
        lrs[g] = anneal(lrs_[g][phase.start_lr], lrs_[g][phase.end_lr], pct);
        if (o_.cycle_momentum)
          optimizer_.set_momentum(g, anneal(momenta_[g][phase.start_momentum],
                                            momenta_[g][phase.end_momentum], pct));
        break;
      }
      start_step = phase.end_step;
    }
  }
  return lrs;
}

// ---- ReduceLROnPlateau ----------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : LRScheduler("ReduceLROnPlateau", optimizer), o_(std::move(options)) {
  TG_CHECK(o_.factor >= 0 && o_.factor < 1, "ReduceLROnPlateau: expected factor in [0, 1), got ",
           o_.factor);
  TG_CHECK(o_.mode == "min" || o_.mode == "max",
           "ReduceLROnPlateau: expected mode \"min\" or \"max\", got \"", o_.mode, "\"");
  TG_CHECK(o_.threshold_mode == "rel" || o_.threshold_mode == "abs",
           "ReduceLROnPlateau: expected threshold_mode \"rel\" or \"abs\", got \"",
           o_.threshold_mode, "\"");
  TG_CHECK(o_.patience >= 0 && o_.cooldown >= 0, "ReduceLROnPlateau: expected patience and "
           "cooldown >= 0, got ", o_.patience, " and ", o_.cooldown);
  if (o_.min_lrs.empty()) o_.min_lrs.assign(optimizer.num_param_groups(), o_.min_lr);
  TG_CHECK(o_.min_lrs.size() == optimizer.num_param_groups(), "ReduceLROnPlateau: expected ",
           optimizer.num_param_groups(), " min_lrs (one per group), got ", o_.min_lrs.size());
  last_epoch_ = 0;
  best_ = o_.mode == "min" ? INFINITY : -INFINITY;
}

void ReduceLROnPlateau::step() {
  TG_CHECK(false, "ReduceLROnPlateau: expected step(metric), got step() without the metric");
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  const bool rel = o_.threshold_mode == "rel";
  if (o_.mode == "min") return rel ? a < best * (1. - o_.threshold) : a < best - o_.threshold;
  return rel ? a > best * (o_.threshold + 1.) : a > best + o_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
  check_groups();
  ++step_count_;
  ++last_epoch_;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs during cooldown don't count
  }
  if (num_bad_epochs_ > o_.patience) {
    for (std::size_t g = 0; g < optimizer_.num_param_groups(); ++g) {
      const double old_lr = optimizer_.lr(g);
      const double new_lr = std::max(old_lr * o_.factor, o_.min_lrs[g]);
      if (old_lr - new_lr > o_.eps) optimizer_.set_lr(g, new_lr);
    }
    cooldown_counter_ = o_.cooldown;
    num_bad_epochs_ = 0;
  }
  last_lr_ = optimizer_.lrs();
}

void ReduceLROnPlateau::save_state(std::map<std::string, std::string>& meta,
                                   const std::string& prefix) const {
  LRScheduler::save_state(meta, prefix);
  meta[prefix + "best"] = detail::format_double(best_);
  meta[prefix + "num_bad_epochs"] = std::to_string(num_bad_epochs_);
  meta[prefix + "cooldown_counter"] = std::to_string(cooldown_counter_);
}

void ReduceLROnPlateau::load_state(const std::map<std::string, std::string>& meta,
                                   const std::string& prefix) {
  const std::string owner = name() + ".load_state_dict";
  const double best = detail::parse_double(detail::require(meta, prefix + "best", owner), "best");
  TG_CHECK(!std::isnan(best), owner, ": expected a number for best (inf before the first "
           "metric), got nan");
  const auto bad = detail::parse_count(detail::require(meta, prefix + "num_bad_epochs", owner),
                                       "num_bad_epochs", 0);
  const auto cooldown = detail::parse_count(
      detail::require(meta, prefix + "cooldown_counter", owner), "cooldown_counter", 0);
  LRScheduler::load_state(meta, prefix);
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
}

}  // namespace tg::optim
