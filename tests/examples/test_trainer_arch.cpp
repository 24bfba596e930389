// examples/trainer --arch resnet18 (issue 15), torchvision's ResNet-18 from the model zoo, with
// --tta (issue 16), and --arch poolnet (airbench's network), on the tiny dataset. A file of its
// own: the largest network of the smoke tests runs beside the others under CTest.
#include <cmath>

#include "examples/example_util.hpp"

using tg::test::csv_rows;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;
using tg::test::values_after;

TEST_CASE("trainer --arch resnet18 trains torchvision's ResNet-18, and --tta evaluates the mirror images too") {
  const fs::path out = tg::test::temp_dir("example_trainer18");
  const std::string common = "--data fashion-mnist:" + tiny_fashion_mnist().string() +
                             " --arch resnet18 --batch-size 32 --workers 1 --lr 0.02 --limit-train 320"
                             " --limit-test 100 --out " + out.string();
  RunResult r = run("trainer", common + " --epochs 2 --tta");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // torchvision's 11,689,512 with conv1 on 1 channel (-6,272) and fc to 10 classes (-507,870).
  CHECK(r.output.find("ResNet-18 (torchvision) on fashion-mnist: 320 train / 100 test images, 11175370 parameters") !=
        std::string::npos);
  const auto rows = csv_rows(out / "metrics.csv");
  REQUIRE(rows.size() == 2);
  CHECK(std::isfinite(rows[0][1]));
  CHECK(rows[1][1] < rows[0][1]);
  CHECK(r.output.find("feature maps: drawn for the CIFAR ResNets only, skipped for this ResNet") != std::string::npos);
  CHECK(fs::file_size(out / "kernels.png") > 0);  // conv1's 7x7 kernels
  // The final evaluation averages each image's logits with its mirror image's: not the last
  // epoch's plain evaluation of the same weights.
  CHECK(r.output.find("(trained weights, flip test-time augmentation)") != std::string::npos);
  const auto losses = values_after(r.output, "test loss");
  REQUIRE(losses.size() == 3);
  CHECK(losses[2] != doctest::Approx(rows[1][3]).epsilon(1e-4));

  RunResult no_average = run("trainer", common + " --epochs 3 --resume --ema 0.9");
  CHECK(no_average.exit_code != 0);
  CHECK(no_average.output.find("was the run started without --ema?") != std::string::npos);
}

TEST_CASE("trainer --arch poolnet trains airbench's network, with --width; --depth beside it is refused") {
  const fs::path out = tg::test::temp_dir("example_poolnet");
  const std::string common = "--data fashion-mnist:" + tiny_fashion_mnist().string() +
                             " --arch poolnet --batch-size 32 --workers 1 --lr 0.05 --limit-train 320"
                             " --limit-test 100 --out " + out.string();
  RunResult r = run("trainer", common + " --epochs 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // 40 (stem) + 41,728 + 221,696 + 885,760 (groups of 64, 128, 256 channels) + 2,560 (fc).
  CHECK(r.output.find("PoolNet (width 1) on fashion-mnist: 320 train / 100 test images, 1151784 parameters") !=
        std::string::npos);
  const auto rows = csv_rows(out / "metrics.csv");
  REQUIRE(rows.size() == 2);
  CHECK(std::isfinite(rows[0][1]));
  CHECK(rows[1][1] < rows[0][1]);
  CHECK(r.output.find("feature maps: drawn for the CIFAR ResNets only, skipped for this PoolNet") != std::string::npos);

  RunResult wide = run("trainer", common + " --epochs 1 --width 2 --limit-train 64 --out " + (out / "wide").string());
  INFO(wide.output);
  CHECK(wide.exit_code == 0);
  CHECK(wide.output.find("PoolNet (width 2) on fashion-mnist") != std::string::npos);

  RunResult both = run("trainer", common + " --epochs 1 --depth 20");
  CHECK(both.exit_code != 0);
  CHECK(both.output.find("expected --arch poolnet or --depth 20, got both") != std::string::npos);
}
