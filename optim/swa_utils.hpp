#pragma once
/// @file
/// torch.optim.swa_utils: AveragedModel keeps a running average (SWA) or an exponential moving
/// average (EMA) of a model's weights; SWALR anneals each group's learning rate to a constant SWA
/// rate; update_bn recomputes BatchNorm statistics with a pass over the data, as the averaged
/// weights need (their running statistics belong to no single model).
///
/// Where it differs from PyTorch: modules are shallow handles here, so an AveragedModel cannot
/// deep-copy the model. It keeps its own copies of every parameter and buffer and evaluates by
/// swapping them into the model it was built from for the duration of a call (a pointer swap per
/// tensor, no copy), without recording a tape. Use the model and its average from one thread.
#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/optim/lr_scheduler.hpp"

namespace tg::nn {
class BatchNormImpl;
}

/// Weight averaging (torch.optim.swa_utils): AveragedModel, SWALR, update_bn.
namespace tg::optim::swa_utils {

/// avg_fn(averaged, current, num_averaged): the new average, in place in `averaged`.
using AvgFn = std::function<void(Tensor& averaged, const Tensor& current, std::int64_t num_averaged)>;
/// The running mean (PyTorch's default avg_fn): a += (current - a) / (num_averaged + 1).
AvgFn swa();
/// The exponential moving average (PyTorch's get_ema_multi_avg_fn): a = decay a + (1 - decay) c.
AvgFn ema(double decay);

namespace detail {
/// The type-independent part of AveragedModel: the averaged copies and the swapping.
class Averager {
 public:
  Averager(nn::Module& model, AvgFn avg_fn, bool use_buffers);
  void update_parameters(const nn::Module& model);
  std::int64_t n_averaged() const { return n_averaged_; }
  /// PyTorch's AveragedModel.state_dict(): "module.<name>" for each entry, then "n_averaged".
  nn::StateDict state_dict() const;
  /// Restores what state_dict() gave (strict); nothing changes when it throws.
  void load_state_dict(const nn::StateDict& dict);
  /// Exchanges the averaged values with the model's (call twice to undo).
  void swap_with_model();

 private:
  nn::Module& model_;
  AvgFn avg_fn_;
  bool use_buffers_;
  std::int64_t n_averaged_ = 0;
  std::vector<Tensor> params_, buffers_;  // in named_parameters() / named_buffers() order
  std::vector<bool> integral_buffers_;    // stored as I64 (num_batches_tracked): kept whole
};
/// Swaps the averaged values in for its lifetime.
class SwappedIn {
 public:
  explicit SwappedIn(Averager& a) : a_(a) { a_.swap_with_model(); }
  ~SwappedIn() { a_.swap_with_model(); }
  SwappedIn(const SwappedIn&) = delete;
  SwappedIn& operator=(const SwappedIn&) = delete;

 private:
  Averager& a_;
};
}  // namespace detail

/// PyTorch's AveragedModel over `model` (see the note at the top): starts from a copy of its
/// parameters and buffers; update_parameters(model) folds the model's current parameters (and,
/// with use_buffers, buffers) into the average; forward(x) runs the model with the averaged
/// values. Without use_buffers the buffers stay those of construction until update_bn.
template <class M>
class AveragedModel {
 public:
  /// Averages `model`'s parameters (and buffers too with use_buffers) with `avg_fn`; the model
  /// must outlive the average.
  AveragedModel(M& model, AvgFn avg_fn = swa(), bool use_buffers = false)
      : model_(model), averager_(model, std::move(avg_fn), use_buffers) {}
  /// Folds `model`'s current values into the average (the model it was built from, or one of
  /// the same structure; a different structure throws tg::Error).
  void update_parameters(const M& model) { averager_.update_parameters(model); }
  /// The model's forward with the averaged values, without recording a tape.
  Variable forward(const Variable& x) {
    detail::SwappedIn swapped(averager_);
    NoGradGuard no_grad;
    return model_.forward(x);
  }
  /// How many update_parameters calls were folded in (0 after construction, as in PyTorch).
  std::int64_t n_averaged() const { return averager_.n_averaged(); }
  /// PyTorch's state dict of an AveragedModel: "module.<name>" for each averaged value and
  /// "n_averaged".
  nn::StateDict state_dict() const { return averager_.state_dict(); }
  /// PyTorch's load_state_dict of an AveragedModel (a checkpointed average resumes exactly):
  /// every "module.<name>" entry of state_dict() with its shape, and "n_averaged", nothing else.
  void load_state_dict(const nn::StateDict& dict) { averager_.load_state_dict(dict); }
  /// Runs fn(model) with the averaged values swapped in (evaluation, saving them...).
  template <class Fn>
  decltype(auto) with_averaged(Fn&& fn) {
    detail::SwappedIn swapped(averager_);
    return std::forward<Fn>(fn)(model_);
  }

 private:
  M& model_;
  detail::Averager averager_;
};

/// How SWALR moves from the current rate to swa_lr: (1 - cos(pi t)) / 2, or t.
enum class AnnealStrategy {
  Cos,    ///< (1 - cos(pi t)) / 2 of the way at fraction t of anneal_epochs
  Linear  ///< t of the way
};

/// PyTorch's SWALR: over anneal_epochs steps each group's rate goes from its rate to swa_lr
/// (the chainable form of PyTorch 1.13, numbers included), then stays at swa_lr.
class SWALR : public LRScheduler {
 public:
  /// The same swa_lr for every group.
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

namespace detail {
/// A batch's images: `batch.data` (tg::data::Batch, LibTorch's name), else `batch.images`.
template <class B>
decltype(auto) batch_input(const B& batch) {
  if constexpr (requires { batch.data; })
    return (batch.data);
  else
    return (batch.images);
}
}  // namespace detail

/// PyTorch's update_bn: one pass of `model.forward(batch.data)` (or of a user batch's
/// `batch.images`) over `loader` (without recording a tape) recomputes every BatchNorm's
/// running mean and variance as the average over the whole pass; momenta and training mode are
/// put back. Nothing happens without BatchNorm.
template <class Loader, class Model>
  requires std::derived_from<Model, nn::Module>
void update_bn(Loader& loader, Model& model) {
  const detail::BatchNormRefresh refresh = detail::begin_update_bn(model);
  if (refresh.momenta.empty()) return;
  try {
    NoGradGuard no_grad;
    for (auto& batch : loader) model.forward(detail::batch_input(batch));
  } catch (...) {
    detail::end_update_bn(model, refresh);
    throw;
  }
  detail::end_update_bn(model, refresh);
}

/// update_bn for an AveragedModel: the statistics recomputed with the averaged weights become
/// the average's own buffers.
template <class Loader, class M>
void update_bn(Loader& loader, AveragedModel<M>& averaged) {
  averaged.with_averaged([&](M& model) { update_bn(loader, model); });
}

}  // namespace tg::optim::swa_utils
