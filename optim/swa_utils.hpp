#pragma once
// torch.optim.swa_utils' scheduler and BatchNorm refresh: SWALR anneals each group's learning
// rate to a constant SWA rate; update_bn recomputes BatchNorm statistics with a pass over the
// data, as the averaged weights need (their running statistics belong to no single model).
#include <concepts>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "nn/module.hpp"
#include "optim/lr_scheduler.hpp"

namespace tg::nn {
class BatchNormImpl;
}

namespace tg::optim::swa_utils {

/// How SWALR moves from the current rate to swa_lr: (1 - cos(pi t)) / 2, or t.
enum class AnnealStrategy { Cos, Linear };

/// PyTorch's SWALR: over anneal_epochs steps each group's rate goes from its rate to swa_lr
/// (the chainable form of PyTorch 1.13, numbers included), then stays at swa_lr.
class SWALR : public LRScheduler {
 public:
  SWALR(Optimizer& optimizer, double swa_lr, std::int64_t anneal_epochs = 10,
        AnnealStrategy strategy = AnnealStrategy::Cos);
  /// One swa_lr per parameter group.
  SWALR(Optimizer& optimizer, std::vector<double> swa_lrs, std::int64_t anneal_epochs = 10,
        AnnealStrategy strategy = AnnealStrategy::Cos);

 protected:
  std::vector<double> compute_lr() override;

 private:
  double anneal(double t) const;
  std::vector<double> swa_lrs_;
  std::int64_t anneal_epochs_;
  AnnealStrategy strategy_;
};

namespace detail {
/// What update_bn changes and puts back: each BatchNorm's momentum and the training mode.
struct BatchNormRefresh {
  std::vector<std::pair<nn::BatchNormImpl*, std::optional<double>>> momenta;
  bool was_training = false;
};
/// Resets every tracked BatchNorm's statistics, sets momentum to None (a cumulative average),
/// and switches the model to training mode.
BatchNormRefresh begin_update_bn(nn::Module& model);
/// Restores the momenta and the training mode.
void end_update_bn(nn::Module& model, const BatchNormRefresh& refresh);
}  // namespace detail

/// PyTorch's update_bn: one pass of `model.forward(batch.images)` over `loader` (without
/// recording a tape) recomputes every BatchNorm's running mean and variance as the average over
/// the whole pass; momenta and training mode are put back. Nothing happens without BatchNorm.
template <class Loader, class Model>
  requires std::derived_from<Model, nn::Module>
void update_bn(Loader& loader, Model& model) {
  const detail::BatchNormRefresh refresh = detail::begin_update_bn(model);
  if (refresh.momenta.empty()) return;
  try {
    NoGradGuard no_grad;
    for (auto& batch : loader) model.forward(batch.images);
  } catch (...) {
    detail::end_update_bn(model, refresh);
    throw;
  }
  detail::end_update_bn(model, refresh);
}

}  // namespace tg::optim::swa_utils
