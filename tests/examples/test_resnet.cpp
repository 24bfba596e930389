// Smoke test of examples/resnet, the ResNet example in one file: trains on the tiny dataset,
// evaluates each epoch, saves its weights under the names its modules give them, and explains
// a bad command line.
#include <tapegrad/nn/safetensors.hpp>

#include "examples/example_util.hpp"

namespace fs = std::filesystem;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;
using tg::test::values_after;

TEST_CASE("resnet trains, evaluates each epoch and saves its weights") {
  const fs::path out = tg::test::temp_dir("example_resnet");
  const fs::path weights = out / "weights.safetensors";
  RunResult r = run("resnet", "--data " + tiny_fashion_mnist().string() +
                                  " --epochs 2 --batch-size 32 --lr 0.05 --threads 2 --checkpoint " + weights.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("ResNet-20: ") != std::string::npos);
  CHECK(r.output.find("640 training and 200 test images") != std::string::npos);
  const auto train_losses = values_after(r.output, "train loss ");
  const auto accuracies = values_after(r.output, "test accuracy ");
  REQUIRE(train_losses.size() == 2);
  REQUIRE(accuracies.size() == 2);
  CHECK(train_losses[1] < train_losses[0]);
  CHECK(r.output.find("epoch 2/2") != std::string::npos);
  CHECK(r.output.find("weights saved in " + weights.string()) != std::string::npos);
  const auto archive = tg::nn::read_safetensors(weights);
  for (const char* name : {"stem.weight", "stem_bn.running_mean", "block1.conv1.weight", "block4.shortcut_conv.weight",
                           "block9.bn2.bias", "fc.weight"})
    CHECK_MESSAGE(archive.tensors.count(name) == 1, name);
  CHECK(archive.tensors.count("block2.shortcut_conv.weight") == 0);  // identity shortcut
  CHECK(archive.tensors.at("fc.weight").shape() == tg::Shape{10, 64});
}

TEST_CASE("resnet explains a bad option and a missing dataset") {
  const auto fails_with = [](const std::string& args, const std::string& message) {
    RunResult r = run("resnet", args);
    INFO(args);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find(message) != std::string::npos);
  };
  fails_with("--epochs 0", "--epochs: expected at least 1");
  fails_with("--epochs two", "--epochs: expected a number, got 'two'");
  fails_with("--lr nan", "--lr: expected a number > 0");
  fails_with("--threads 10000", "--threads: expected a number in [0, 1024]");
  fails_with("--batch-size", "--batch-size: expected a value after it");
  fails_with("--depth 20", "unknown option --depth");
  fails_with("--data /nonexistent/folder", "/nonexistent/folder");
  CHECK(run("resnet", "--help").output.find("--epochs") != std::string::npos);
}
