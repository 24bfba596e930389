#include "optim/swa_utils.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "autograd/error.hpp"
#include "nn/normalization.hpp"

namespace tg::optim::swa_utils {

SWALR::SWALR(Optimizer& optimizer, double swa_lr, std::int64_t anneal_epochs, AnnealStrategy strategy)
    : SWALR(optimizer, std::vector<double>(optimizer.lrs().size(), swa_lr), anneal_epochs, strategy) {}

SWALR::SWALR(Optimizer& optimizer, std::vector<double> swa_lrs, std::int64_t anneal_epochs,
             AnnealStrategy strategy)
    : LRScheduler("SWALR", optimizer), swa_lrs_(std::move(swa_lrs)), anneal_epochs_(anneal_epochs),
      strategy_(strategy) {
  TG_CHECK(swa_lrs_.size() == optimizer.lrs().size(), "SWALR: expected one swa_lr per parameter group (",
           optimizer.lrs().size(), "), got ", swa_lrs_.size());
  for (double lr : swa_lrs_) TG_CHECK(std::isfinite(lr) && lr >= 0, "SWALR: expected swa_lr >= 0, got ", lr);
  TG_CHECK(anneal_epochs >= 0, "SWALR: expected anneal_epochs >= 0, got ", anneal_epochs);
  initial_step();
}

double SWALR::anneal(double t) const {
  return strategy_ == AnnealStrategy::Cos ? (1 - std::cos(std::numbers::pi * t)) / 2 : t;
}

// PyTorch 1.13's get_lr: it infers the rate the schedule started from out of the group's
// current rate and the previous step's alpha, then blends that with swa_lr by this step's.
std::vector<double> SWALR::compute_lr() {
  std::vector<double> lrs = optimizer_.lrs();
  std::int64_t step = step_count_ - 1;
  if (anneal_epochs_ == 0) step = std::max<std::int64_t>(1, step);
  const double span = static_cast<double>(std::max<std::int64_t>(1, anneal_epochs_));
  const double prev_alpha = anneal(std::clamp(static_cast<double>(step - 1) / span, 0.0, 1.0));
  const double alpha = anneal(std::clamp(static_cast<double>(step) / span, 0.0, 1.0));
  for (std::size_t g = 0; g < lrs.size(); ++g) {
    const double start =
        prev_alpha == 1.0 ? swa_lrs_[g] : (lrs[g] - prev_alpha * swa_lrs_[g]) / (1 - prev_alpha);
    lrs[g] = swa_lrs_[g] * alpha + start * (1 - alpha);
  }
  return lrs;
}

namespace detail {

BatchNormRefresh begin_update_bn(nn::Module& model) {
  BatchNormRefresh refresh;
  refresh.was_training = model.is_training();
  for (nn::Module* m : model.modules()) {
    auto* bn = dynamic_cast<nn::BatchNormImpl*>(m);
    if (!bn || !bn->options.track_running_stats) continue;
    refresh.momenta.emplace_back(bn, bn->options.momentum);
    bn->reset_running_stats();
    bn->options.momentum = std::nullopt;
  }
  if (!refresh.momenta.empty()) model.train(true);
  return refresh;
}

void end_update_bn(nn::Module& model, const BatchNormRefresh& refresh) {
  for (const auto& [bn, momentum] : refresh.momenta) bn->options.momentum = momentum;
  model.train(refresh.was_training);
}

}  // namespace detail
}  // namespace tg::optim::swa_utils
