// The trainer's --time-budget (issue 16: the long recipe in the hour on any of our VMs):
// the plan's arithmetic, a probe that leaves the model and the loaders as they were, and the
// program planning its epochs, training exactly the run --epochs would give, and resuming with
// the plan it recorded.
#include <fstream>

#include "examples/common/time_budget.hpp"
#include "examples/example_util.hpp"
#include <tapegrad/nn/nn.hpp>

namespace E = tg::examples;
using tg::test::csv_rows;
using tg::test::read_bytes;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// 12 images of 1x6x6, labels 0..2.
tg::data::TensorDataset small_dataset() {
  tg::Generator gen(7);
  tg::Labels labels = tg::Labels::from_shape({12});
  for (std::size_t i = 0; i < 12; ++i) labels(i) = std::int64_t(i % 3);
  return tg::data::TensorDataset(tg::randn_tensor({12, 1, 6, 6}, gen), labels);
}

}  // namespace

TEST_CASE("epochs_within fits training and evaluations in the budget, from 1 to the maximum") {
  const E::EpochCost cost{.train_seconds = 100, .evaluate_seconds = 10};
  // Each epoch 100 + 2 x 10 s; the final 2 evaluations 20 s: (600 - 20) / 120 = 4.8.
  CHECK(E::epochs_within(600, cost, 2, 2, 40) == 4);
  CHECK(E::epochs_within(600, cost, 1, 1, 40) == 5);  // (600 - 10) / 110 = 5.4
  CHECK(E::epochs_within(1e6, cost, 2, 2, 7) == 7);   // at most --epochs
  CHECK(E::epochs_within(1, cost, 2, 2, 7) == 1);     // at least one, even over the budget
  CHECK(E::epochs_within(60, {}, 2, 2, 7) == 7);      // nothing measurable: --epochs
}

TEST_CASE("epochs_after re-plans at the measured pace, from the least to the most epochs") {
  // 3 epochs done, 1000 s into 3600; epochs of 300 s and a final evaluation of 100 s:
  // (3600 - 1000 - 100) / 300 = 8.3 more, so 11 in all.
  CHECK(E::epochs_after(3600, 1000, 3, 300, 100, 4, 40) == 11);
  CHECK(E::epochs_after(3600, 1000, 3, 400, 100, 4, 40) == 9);    // slower epochs: 3 + 6.25
  CHECK(E::epochs_after(3600, 1000, 3, 300, 100, 4, 10) == 10);   // at most --epochs
  CHECK(E::epochs_after(3600, 3500, 3, 300, 100, 4, 40) == 4);    // over the budget: one more
  CHECK(E::epochs_after(3600, 1000, 3, 300, 100, 12, 40) == 12);  // never before `least`
  CHECK(E::epochs_after(3600, 1000, 3, 0, 100, 4, 9) == 9);       // nothing measured: the most
}

TEST_CASE("measure_epoch_cost times a whole epoch of each and leaves model and loaders as they were") {
  tg::manual_seed(3);
  tg::nn::Sequential model(tg::nn::Conv2d(1, 4, 3), tg::nn::BatchNorm2d(4), tg::nn::ReLU(), tg::nn::Flatten(),
                           tg::nn::Linear(64, 3));
  const std::function<tg::Variable(const tg::Variable&)> forward = [&](const tg::Variable& x) { return model->forward(x); };
  tg::data::DataLoader train(small_dataset(), {.batch_size = 4, .shuffle = true, .seed = 1});
  tg::data::DataLoader test(small_dataset(), {.batch_size = 6});
  train.set_epoch(5);
  const tg::nn::StateDict before = model->state_dict();

  const E::EpochCost cost = E::measure_epoch_cost(*model, forward, train, test, {.untimed_steps = 1, .timed_steps = 2});
  CHECK(cost.train_seconds > 0);
  CHECK(cost.evaluate_seconds > 0);
  CHECK(model->is_training());
  CHECK(train.epoch() == 5);
  CHECK(test.epoch() == 0);
  for (const tg::nn::StateEntry& entry : model->state_dict()) {  // BatchNorm's statistics too
    INFO(entry.name);
    CHECK(entry.value == before.at(entry.name));
  }
  for (const tg::Variable& p : model->parameters()) CHECK_FALSE(p.has_grad());
}

TEST_CASE("trainer --time-budget plans its epochs, trains the run --epochs would, and resumes the plan") {
  const std::string common = "--data fashion-mnist:" + tiny_fashion_mnist().string() +
                             " --depth 8 --batch-size 32 --workers 1 --lr 0.05 --limit-train 128 --limit-test 50"
                             " --epochs 2 --ema 0.9";
  const fs::path plain = tg::test::temp_dir("example_budget_plain"), budget = tg::test::temp_dir("example_budget_ample");
  RunResult without = run("trainer", common + " --out " + plain.string());
  INFO(without.output);
  REQUIRE(without.exit_code == 0);
  RunResult ample = run("trainer", common + " --time-budget 600 --out " + budget.string());
  INFO(ample.output);
  REQUIRE(ample.exit_code == 0);
  CHECK(has(ample.output, "time budget 600 min: an epoch trains in about"));
  CHECK(has(ample.output, "so 2 epochs (--epochs 2 at most)"));
  // The probe's batches moved nothing: bit for bit the same weights, optimizer and schedule.
  CHECK(read_bytes(budget / "checkpoint.safetensors") == read_bytes(plain / "checkpoint.safetensors"));
  CHECK(read_bytes(budget / "ema.safetensors") == read_bytes(plain / "ema.safetensors"));

  const fs::path tight = tg::test::temp_dir("example_budget_tight");
  RunResult one = run("trainer", common + " --epochs 5 --time-budget 0.0001 --out " + tight.string());
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  CHECK(has(one.output, "so 1 epoch (--epochs 5 at most)"));
  CHECK(has(one.output, "epoch 1/1"));
  CHECK(csv_rows(tight / "metrics.csv").size() == 1);

  // Planned 3 (at most --epochs 3), stopped after 1; resuming with a budget that would plan 1
  // keeps the 3 the schedule was built for.
  const fs::path parts = tg::test::temp_dir("example_budget_parts");
  RunResult first = run("trainer", common + " --epochs 3 --time-budget 600 --stop-after 1 --out " + parts.string());
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  CHECK(has(first.output, "stopped after epoch 1 of 3"));
  // The same checkpoint with its plan edited into something that is not an epoch count.
  const fs::path edited = tg::test::temp_dir("example_budget_edited");
  fs::copy(parts, edited, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  tg::nn::TensorArchive archive = tg::nn::read_safetensors(edited / "checkpoint.safetensors");
  archive.metadata["extra.epochs"] = "3x";
  tg::nn::write_safetensors(edited / "checkpoint.safetensors", archive);
  RunResult refused = run("trainer", common + " --epochs 3 --time-budget 0.0001 --resume --out " + edited.string());
  INFO(refused.output);
  CHECK(refused.exit_code != 0);
  CHECK(has(refused.output, "expected the planned epochs in " + (edited / "checkpoint.safetensors").string() +
                                " to be a whole number >= 1, got '3x'"));

  RunResult resumed = run("trainer", common + " --epochs 3 --time-budget 0.0001 --resume --out " + parts.string());
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(has(resumed.output, "epoch 3/3"));
  CHECK_FALSE(has(resumed.output, "time budget"));
  CHECK(csv_rows(parts / "metrics.csv").size() == 3);
}
