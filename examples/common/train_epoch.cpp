#include "examples/common/train_epoch.hpp"

#include <string>

#include <tapegrad/autograd/autograd.hpp>

namespace tg::examples {

void EpochTrainer::epoch(data::DataLoader& train, int epoch, std::optional<Progress>& progress) {
  const std::vector<Variable> parameters = model.parameters();
  model.train();
  std::size_t step = 0;
  for (const auto& batch : train) {
    ++step;
    opt.zero_grad();
    Variable logits, loss;
    try {
      nn::ModuleScope scope(model);  // anomaly errors name the path from "ResNetCifar"
      if (mixing) {  // the default generator: checkpoints keep its position, resuming is exact
        const data::SoftBatch mixed = (*mixing)(batch, default_generator());
        logits = forward(mixed.images);
        loss = cross_entropy(logits, mixed.targets, loss_options);
      } else {
        logits = forward(batch.data);
        loss = cross_entropy(logits, batch.target, loss_options);
      }
      loss.backward();
    } catch (const Error& e) {
      throw Error("epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(step) + ": " + e.what());
    }
    const bool usable = nonfinite.usable(loss.item(), parameters, epoch + 1, step);
    if (usable) opt.step();
    if (usable && ema) ema->update_parameters(model);
    schedule.step();  // a skipped batch still counts, so the schedule keeps its length
    if (usable && progress)  // accuracy against the unmixed labels
      progress->update(batch.target.size(), loss.item(), count_correct(logits.value(), batch.target));
  }
}

}  // namespace tg::examples
