// Smoke test of examples/trainer: trains a few steps on the tiny dataset, checkpoints, resumes
// (and evaluates a finished run again), draws its pictures, and explains bad options.
#include <fstream>

#include "examples/example_util.hpp"

namespace fs = std::filesystem;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;
using tg::test::values_after;

TEST_CASE("trainer trains, checkpoints, resumes and draws its pictures") {
  const fs::path out = tg::test::temp_dir("example_trainer");
  const std::string common = "--data fashion-mnist:" + tiny_fashion_mnist().string() +
                             " --depth 8 --batch-size 32 --workers 1 --lr 0.05 --out " + out.string();
  RunResult first = run("trainer", common + " --epochs 2");
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  for (const char* file : {"metrics.csv", "checkpoint.safetensors", "curves.png", "confusion_matrix.png",
                           "kernels.png", "feature_maps_stem.png", "feature_maps_layer3.png"})
    CHECK_MESSAGE(fs::file_size(out / file) > 0, file);
  std::ifstream metrics(out / "metrics.csv");
  std::string header, epoch1, epoch2;
  std::getline(metrics, header), std::getline(metrics, epoch1), std::getline(metrics, epoch2);
  const double loss1 = std::stod(epoch1.substr(epoch1.find(',') + 1));
  const double loss2 = std::stod(epoch2.substr(epoch2.find(',') + 1));
  CHECK(loss2 < loss1);

  RunResult resumed = run("trainer", common + " --epochs 3 --resume");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.output.find("resumed from") != std::string::npos);
  CHECK(resumed.output.find("epoch 3/3") != std::string::npos);
  CHECK(resumed.output.find("epoch 1/3") == std::string::npos);

  // A finished run resumed again trains nothing and evaluates its final weights anew, here with
  // the flip at test time: how a saved model is evaluated another way.
  RunResult evaluated = run("trainer", common + " --epochs 3 --resume --tta");
  INFO(evaluated.output);
  REQUIRE(evaluated.exit_code == 0);
  CHECK(evaluated.output.find("resumed from") != std::string::npos);
  CHECK(evaluated.output.find("epoch 3/3") == std::string::npos);
  CHECK(evaluated.output.find("(trained weights, flip test-time augmentation)") != std::string::npos);
  CHECK(tg::test::csv_rows(out / "metrics.csv").size() == 3);
}

TEST_CASE("trainer explains a bad option and a missing dataset") {
  RunResult bad_depth = run("trainer", "--depth 21 --data fashion-mnist:" + tiny_fashion_mnist().string());
  CHECK(bad_depth.exit_code != 0);
  CHECK(bad_depth.output.find("expected a depth of 6n + 2") != std::string::npos);
  RunResult missing = run("trainer", "--data fashion-mnist:/nonexistent/folder");
  CHECK(missing.exit_code != 0);
  CHECK(missing.output.find("/nonexistent/folder") != std::string::npos);
  CHECK(run("trainer", "--help").output.find("--epochs") != std::string::npos);
}
