// examples/trainer's options for better models (issue 16): an EMA of the weights that resumes
// exactly, MixUp/CutMix, random erasing, wider networks and the named recipes, each on the tiny
// dataset (--arch resnet18 and --tta: test_trainer_arch.cpp).
#include <cmath>
#include <fstream>

#include "examples/example_util.hpp"

namespace fs = std::filesystem;
using tg::test::read_bytes;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;
using tg::test::values_after;
using tg::test::csv_rows;

namespace {

std::string first_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Parameters of the CIFAR ResNet-8 (one BasicBlock per stage) of width k, 1 channel, 10 classes.
std::size_t resnet8_parameters(std::size_t k) {
  const std::size_t a = 16 * k, b = 32 * k, c = 64 * k;
  const std::size_t stem = 9 * a + 2 * a;
  const std::size_t layer1 = 2 * 9 * a * a + 2 * 2 * a;
  const std::size_t layer2 = 9 * a * b + 9 * b * b + 2 * 2 * b + a * b + 2 * b;  // + 1x1 projection
  const std::size_t layer3 = 9 * b * c + 9 * c * c + 2 * 2 * c + b * c + 2 * c;
  return stem + layer1 + layer2 + layer3 + c * 10 + 10;
}

}  // namespace

TEST_CASE("trainer --ema with MixUp, CutMix and random erasing trains, and --resume continues it exactly") {
  const fs::path full = tg::test::temp_dir("example_trainer_ema_full");
  const fs::path parts = tg::test::temp_dir("example_trainer_ema_parts");
  const std::string common = "--data fashion-mnist:" + tiny_fashion_mnist().string() +
                             " --depth 8 --batch-size 32 --workers 1 --lr 0.05 --limit-train 320 --epochs 2"
                             " --ema 0.9 --mixup 0.2 --cutmix 1.0 --random-erasing 0.5 --label-smoothing 0.1";
  RunResult uninterrupted = run("trainer", common + " --out " + full.string());
  INFO(uninterrupted.output);
  REQUIRE(uninterrupted.exit_code == 0);
  CHECK(first_line(full / "metrics.csv") ==
        "epoch,train_loss,train_accuracy,test_loss,test_accuracy,images_per_s,ema_test_loss,ema_test_accuracy");
  const auto rows = csv_rows(full / "metrics.csv");
  REQUIRE(rows.size() == 2);
  REQUIRE(rows[1].size() == 8);
  CHECK(std::isfinite(rows[0][1]));
  CHECK(rows[1][1] < rows[0][1]);  // the training loss on mixed batches falls
  CHECK(rows[1][7] > 0.0);         // the EMA weights classify
  // The final model is the average: its evaluation is the last epoch's EMA column.
  const auto final_loss = values_after(uninterrupted.output, "test loss");
  CHECK(uninterrupted.output.find("(EMA weights)") != std::string::npos);
  CHECK(final_loss.back() == doctest::Approx(rows[1][6]).epsilon(1e-3));

  RunResult first = run("trainer", common + " --stop-after 1 --out " + parts.string());
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  CHECK(first.output.find("stopped after epoch 1 of 2") != std::string::npos);
  RunResult resumed = run("trainer", common + " --resume --out " + parts.string());
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  // Bit for bit what the uninterrupted run left: weights, optimizer, schedule and the average.
  CHECK(read_bytes(parts / "ema.safetensors") == read_bytes(full / "ema.safetensors"));
  CHECK(read_bytes(parts / "checkpoint.safetensors") == read_bytes(full / "checkpoint.safetensors"));
  const auto resumed_rows = csv_rows(parts / "metrics.csv");
  REQUIRE(resumed_rows.size() == 2);
  for (std::size_t column : {1, 2, 3, 4, 6, 7}) CHECK(resumed_rows[1][column] == rows[1][column]);
}

TEST_CASE("trainer --recipe long sets its options, explicit ones override them, and --width widens") {
  const fs::path out = tg::test::temp_dir("example_trainer_recipe");
  const std::string common = "--data fashion-mnist:" + tiny_fashion_mnist().string() +
                             " --recipe long --epochs 1 --batch-size 32 --workers 1 --limit-train 64 --limit-test 50"
                             " --out " + out.string();
  RunResult r = run("trainer", common);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("recipe long: --arch poolnet --epochs 40 --time-budget 55 --augment crop-flip "
                      "--label-smoothing 0.1 --tta --tta-shift 1 (options given explicitly override it)") !=
        std::string::npos);
  CHECK(r.output.find("PoolNet (width 1) on fashion-mnist: 64 train / 50 test images") != std::string::npos);
  CHECK(r.output.find("epoch 1/1") != std::string::npos);  // --epochs 1 overrides the recipe's 40
  CHECK(r.output.find("EMA weights") == std::string::npos);
  // The final evaluation averages 18 views of each test image (their mean: test_tta.cpp).
  CHECK(r.output.find("(trained weights, test-time augmentation over 18 views: shifts of up to 1 px, each also "
                      "mirrored)") != std::string::npos);

  // Your --arch overrides the recipe's, and so does your --depth alone.
  RunResult resnet = run("trainer", common + " --arch resnet8 --width 2 --ema 0.9");
  INFO(resnet.output);
  REQUIRE(resnet.exit_code == 0);
  CHECK(resnet.output.find("ResNet-8 (width 2) on fashion-mnist: 64 train / 50 test images, " +
                           std::to_string(resnet8_parameters(2)) + " parameters") != std::string::npos);
  CHECK(resnet.output.find("EMA weights: test loss") != std::string::npos);
  CHECK(resnet.output.find("(EMA weights, test-time augmentation over 18 views") != std::string::npos);
  RunResult depth = run("trainer", common + " --depth 8");
  INFO(depth.output);
  REQUIRE(depth.exit_code == 0);
  CHECK(depth.output.find("ResNet-8 on fashion-mnist: 64 train / 50 test images, " +
                          std::to_string(resnet8_parameters(1)) + " parameters") != std::string::npos);
}

TEST_CASE("trainer explains bad values of the new options") {
  const std::string data = "--data fashion-mnist:" + tiny_fashion_mnist().string() + " --limit-train 32 --limit-test 10 ";
  const auto fails_with = [&](const std::string& args, const std::string& message) {
    RunResult r = run("trainer", data + args);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find(message) != std::string::npos);
  };
  fails_with("--ema 1", "--ema: expected a decay in [0, 1)");
  fails_with("--arch resnet19", "expected a depth of 6n + 2 (14, 20, 32, 44, 56, 110), got 19");
  fails_with("--arch vgg", "--arch: expected resnet18");
  fails_with("--arch resnet18 --width 2", "--width: expected 1 with --arch resnet18");
  fails_with("--arch resnet32 --depth 20", "expected --arch resnet32 or --depth 20, got both");
  fails_with("--width 0", "expected a width multiplier in [1, 64], got 0");
  fails_with("--arch poolnet --width 9", "PoolNet: expected a width multiplier in [1, 8], got 9");
  fails_with("--mixup -1", "--mixup: expected alpha >= 0");
  fails_with("--random-erasing 2", "--random-erasing: expected a probability in [0, 1]");
  fails_with("--recipe short", "--recipe: short not in {default,long}");
  fails_with("--tta-shift -1", "--tta-shift: expected a number >= 0, got -1");
  fails_with("--time-budget -1", "--time-budget: expected a number >= 0, got -1");
  fails_with("--epochs 0", "--epochs: expected a number > 0, got 0");
  // CLI11's own range check spelled out DBL_MAX (309 digits) in these messages.
  CHECK(run("trainer", data + "--epochs 0").output.find("17976931348623157") == std::string::npos);
  fails_with("--tta-shift 28", "--tta-shift: expected fewer pixels than the image's side (28), got 28");
}
