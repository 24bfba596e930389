#pragma once
// The trainer's training epoch: forward, loss (on soft targets when batches are mixed),
// backward, the NaN/Inf check, the optimizer and scheduler steps, and the EMA folded in after
// each step.
#include <functional>
#include <optional>

#include <tapegrad/autograd/loss.hpp>
#include <tapegrad/data/batch_transforms.hpp>
#include "examples/common/ema.hpp"
#include "examples/common/training.hpp"
#include <tapegrad/optim/optim.hpp>

namespace tg::examples {

/// What one epoch works on (references: the caller owns them all).
struct EpochTrainer {
  nn::Module& model;
  const std::function<Variable(const Variable&)>& forward;
  optim::Optimizer& opt;
  optim::LRScheduler& schedule;
  NonFiniteCheck& nonfinite;
  std::optional<Ema>& ema;                               ///< updated after each step when set
  const std::optional<data::BatchTransform>& mixing;     ///< MixUp/CutMix, when set
  CrossEntropyOptions loss_options;

  /// One pass over `train` in training mode (epoch counts from 0); `progress`, when set, gets
  /// each batch's loss and its accuracy against the unmixed labels. Errors name epoch and step.
  void epoch(data::DataLoader& train, int epoch, std::optional<Progress>& progress);
};

}  // namespace tg::examples
