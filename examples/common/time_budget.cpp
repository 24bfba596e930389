#include "examples/common/time_budget.hpp"

#include <algorithm>
#include <cmath>

#include <tapegrad/autograd/autograd.hpp>

namespace tg::examples {

namespace {

// Seconds per batch of `loader` for `work`, after `untimed` batches; a loader with too few
// batches times what it has (its last batch may be short: a small overestimate at worst).
template <class Work>
double seconds_per_batch(data::DataLoader& loader, int untimed, int timed, Work&& work) {
  untimed = std::min<int>(untimed, int(loader.size()) - 1);
  int done = 0, counted = 0;
  Clock::time_point start = Clock::now();
  for (const auto& batch : loader) {
    if (done == untimed) start = Clock::now();
    work(batch);
    ++done;
    counted += done > untimed;
    if (counted == timed) break;
  }
  return counted ? seconds_since(start) / counted : 0;
}

}  // namespace

EpochCost measure_epoch_cost(nn::Module& model, const std::function<Variable(const Variable&)>& forward,
                             data::DataLoader& train, data::DataLoader& test, ProbeOptions options) {
  // The probe trains nothing, but a training-mode forward moves BatchNorm's running statistics.
  const nn::StateDict before = model.state_dict();
  const bool was_training = model.is_training();
  const std::uint64_t train_epoch = train.epoch(), test_epoch = test.epoch();

  EpochCost cost;
  model.train();
  cost.train_seconds = double(train.size()) *
      seconds_per_batch(train, options.untimed_steps, options.timed_steps, [&](const data::Batch& b) {
        cross_entropy(forward(b.data), b.target).backward();
      });
  model.eval();
  {
    NoGradGuard no_grad;
    cost.evaluate_seconds = double(test.size()) *
        seconds_per_batch(test, 1, options.timed_eval_batches, [&](const data::Batch& b) {
          (void)argmax(forward(b.data).value(), 1);
        });
  }

  model.load_state_dict(before);
  model.zero_grad();
  model.train(was_training);
  train.set_epoch(train_epoch);
  test.set_epoch(test_epoch);
  return cost;
}

int epochs_within(double budget_seconds, const EpochCost& cost, double evaluations_per_epoch,
                  double final_evaluations, int max_epochs) {
  const double per_epoch = cost.train_seconds + evaluations_per_epoch * cost.evaluate_seconds;
  const double for_epochs = budget_seconds - final_evaluations * cost.evaluate_seconds;
  if (per_epoch <= 0) return max_epochs;
  const double fitting = std::floor(for_epochs / per_epoch);
  return int(std::clamp<double>(fitting, 1, max_epochs));
}

int epochs_after(double budget_seconds, double elapsed_seconds, int done, double seconds_per_epoch,
                 double final_seconds, int least, int most) {
  if (seconds_per_epoch <= 0) return most;
  const double fitting = std::floor((budget_seconds - elapsed_seconds - final_seconds) / seconds_per_epoch);
  return int(std::clamp<double>(double(done) + std::max(fitting, 0.0), least, std::max(least, most)));
}

}  // namespace tg::examples
