#pragma once
// The trainer's --time-budget MINUTES: as many epochs as fit in that time on this machine.
// The same recipe trains 40% faster on one of our VMs than on another, so a fixed epoch count
// either wastes the hour or overruns it. The cosine schedule has to know its length from the
// first step, so the epochs are planned before training, from a few timed batches, not by
// stopping when time runs out (that would end the run at a high learning rate). The plan is
// then corrected after each epoch from the epochs' real times: the probe leaves out the
// optimizer step and missed real epochs by 6 to 19%, and a VM's pace drifts within the hour.
#include <chrono>
#include <functional>

#include <tapegrad/data/dataloader.hpp>
#include <tapegrad/nn/module.hpp>

namespace tg::examples {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Seconds one epoch's pieces take on this machine.
struct EpochCost {
  double train_seconds = 0;     ///< one pass over the training loader (forward, loss, backward)
  double evaluate_seconds = 0;  ///< one evaluation of the test loader
};

/// How many batches measure_epoch_cost times.
struct ProbeOptions {
  int untimed_steps = 3;   ///< first steps, not counted: buffers are allocated, threads wake up
  /// 20 steps (about 6 s of PoolNet) planned an epoch at 122 to 163 s in back-to-back launches
  /// on one VM, 17 to 24 epochs of the same hour; 80 (about 25 s) planned 152 to 163 s.
  int timed_steps = 80;
  int timed_eval_batches = 4;
};

/// Times training steps (forward, cross-entropy, backward, no optimizer step) on `train`'s
/// batches and eval-mode forwards on `test`'s, and scales them to a whole epoch of each. The
/// model's parameters and buffers (BatchNorm's running statistics) are restored and its
/// gradients cleared, and both loaders start the epoch they would have: the run that follows is
/// the one it would have been without the probe.
EpochCost measure_epoch_cost(nn::Module& model, const std::function<Variable(const Variable&)>& forward,
                             data::DataLoader& train, data::DataLoader& test, ProbeOptions options = {});

/// The most epochs, from 1 to max_epochs, whose training and `evaluations_per_epoch`
/// evaluations each, plus `final_evaluations` evaluations at the end, fit in budget_seconds.
int epochs_within(double budget_seconds, const EpochCost& cost, double evaluations_per_epoch,
                  double final_evaluations, int max_epochs);

/// After `done` epochs that took `seconds_per_epoch` each on average (training and evaluations),
/// `elapsed_seconds` into budget_seconds: the epochs in all whose remaining ones, at that pace,
/// and `final_seconds` of final evaluation fit, from `least` to `most`. A run already over its
/// budget gets `least` (the caller's done + 1: the cosine needs steps to come down).
int epochs_after(double budget_seconds, double elapsed_seconds, int done, double seconds_per_epoch,
                 double final_seconds, int least, int most);

}  // namespace tg::examples
