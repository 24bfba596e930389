// examples/trainer on a diverging run: stops with the epoch and step, skips batches on request,
// and anomaly mode names the op.
#include <fstream>

#include "examples/example_util.hpp"

namespace fs = std::filesystem;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;
using tg::test::values_after;

TEST_CASE("trainer stops on a NaN loss with the epoch and step, or skips the batch, and finds the op") {
  const fs::path out = tg::test::temp_dir("example_trainer_nan");
  const std::string common = "--data fashion-mnist:" + tiny_fashion_mnist().string() +
                             " --depth 8 --batch-size 32 --workers 1 --epochs 1 --lr 1e30 --out " +
                             out.string();
  RunResult stop = run("trainer", common);
  INFO(stop.output);
  CHECK(stop.exit_code != 0);
  CHECK(stop.output.find("trainer: epoch 1, step ") != std::string::npos);
  CHECK(stop.output.find(": the loss is ") != std::string::npos);
  CHECK(stop.output.find("try a lower --lr") != std::string::npos);
  CHECK(stop.output.find("--detect-anomaly") != std::string::npos);
  RunResult anomaly = run("trainer", common + " --detect-anomaly");
  INFO(anomaly.output);
  CHECK(anomaly.exit_code != 0);
  CHECK(anomaly.output.find("trainer: epoch 1, step ") != std::string::npos);
  CHECK(anomaly.output.find(": anomaly detected: ") != std::string::npos);
  CHECK(anomaly.output.find("in module ResNetCifar.") != std::string::npos);
  // 8 batches: fewer than the 10 bad ones in a row after which skipping gives up.
  RunResult skip = run("trainer", common + " --on-nonfinite skip --limit-train 256");
  INFO(skip.output);
  CHECK(skip.exit_code == 0);
  CHECK(skip.output.find("; skipping this batch (1 skipped so far)") != std::string::npos);
  RunResult give_up = run("trainer", common + " --on-nonfinite skip");  // 20 batches
  CHECK(give_up.exit_code != 0);
  CHECK(give_up.output.find("10 batches in a row were non-finite, giving up") != std::string::npos);
  CHECK(run("trainer", common + " --on-nonfinite maybe").exit_code != 0);
}
