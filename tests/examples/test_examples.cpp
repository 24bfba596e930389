// Smoke tests of the example programs: each runs a few steps on a tiny generated dataset (IDX
// files in the Fashion-MNIST layout whose classes are easy to tell apart), must exit cleanly,
// write its files, and show the loss falling.
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "test_util.hpp"

namespace fs = std::filesystem;

namespace {

void put_u32(std::ofstream& out, std::uint32_t v) {
  const unsigned char bytes[4] = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                                  static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  out.write(reinterpret_cast<const char*>(bytes), 4);
}

// Class k is a bright 6x6 patch at a position of its own, on faint noise.
void write_split(const fs::path& dir, const std::string& prefix, std::uint32_t count, std::uint64_t seed) {
  std::ofstream images(dir / (prefix + "-images-idx3-ubyte"), std::ios::binary);
  std::ofstream labels(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary);
  put_u32(images, 0x803), put_u32(images, count), put_u32(images, 28), put_u32(images, 28);
  put_u32(labels, 0x801), put_u32(labels, count);
  tg::Generator gen(seed);
  for (std::uint32_t i = 0; i < count; ++i) {
    const int label = int(i % 10), top = 2 + (label / 5) * 12, left = 1 + (label % 5) * 5;
    std::array<unsigned char, 28 * 28> pixels{};
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const bool on = y >= top && y < top + 6 && x >= left && x < left + 6;
        pixels[std::size_t(y * 28 + x)] = static_cast<unsigned char>(on ? 200 + gen.below(55) : gen.below(40));
      }
    images.write(reinterpret_cast<const char*>(pixels.data()), pixels.size());
    const char l = static_cast<char>(label);
    labels.write(&l, 1);
  }
}

fs::path tiny_fashion_mnist() {
  static const fs::path dir = [] {
    fs::path d = tg::test::temp_dir("examples_data");
    write_split(d, "train", 640, 1);
    write_split(d, "t10k", 200, 2);
    return d;
  }();
  return dir;
}

struct RunResult {
  int exit_code;
  std::string output;
};

RunResult run(const std::string& program, const std::string& args) {
  const std::string command = std::string(TAPEGRAD_EXAMPLES_DIR) + "/" + program + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  RunResult r{0, ""};
  std::array<char, 4096> buffer;
  while (std::fgets(buffer.data(), int(buffer.size()), pipe)) r.output += buffer.data();
  r.exit_code = pclose(pipe);
  return r;
}

// The numbers following `key` on each line of `text` that contains it.
std::vector<double> values_after(const std::string& text, const std::string& key) {
  std::vector<double> values;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find(key);
    if (at != std::string::npos) values.push_back(std::stod(line.substr(at + key.size())));
  }
  return values;
}

}  // namespace

TEST_CASE("resnet trains, checkpoints, resumes and draws its pictures") {
  const fs::path out = tg::test::temp_dir("example_resnet");
  const std::string common = "--data fashion-mnist:" + tiny_fashion_mnist().string() +
                             " --depth 8 --batch-size 32 --workers 1 --lr 0.05 --out " + out.string();
  RunResult first = run("resnet", common + " --epochs 2");
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

  RunResult resumed = run("resnet", common + " --epochs 3 --resume");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.output.find("resumed from") != std::string::npos);
  CHECK(resumed.output.find("epoch 3/3") != std::string::npos);
  CHECK(resumed.output.find("epoch 1/3") == std::string::npos);
}

TEST_CASE("resnet explains a bad option and a missing dataset") {
  RunResult bad_depth = run("resnet", "--depth 21 --data fashion-mnist:" + tiny_fashion_mnist().string());
  CHECK(bad_depth.exit_code != 0);
  CHECK(bad_depth.output.find("expected a depth of 6n + 2") != std::string::npos);
  RunResult missing = run("resnet", "--data fashion-mnist:/nonexistent/folder");
  CHECK(missing.exit_code != 0);
  CHECK(missing.output.find("/nonexistent/folder") != std::string::npos);
  CHECK(run("resnet", "--help").output.find("--epochs") != std::string::npos);
}

TEST_CASE("resnet stops on a NaN loss with the epoch and step, or skips the batch, and finds the op") {
  const fs::path out = tg::test::temp_dir("example_resnet_nan");
  const std::string common = "--data fashion-mnist:" + tiny_fashion_mnist().string() +
                             " --depth 8 --batch-size 32 --workers 1 --epochs 1 --lr 1e30 --out " +
                             out.string();
  RunResult stop = run("resnet", common);
  INFO(stop.output);
  CHECK(stop.exit_code != 0);
  CHECK(stop.output.find("resnet: epoch 1, step ") != std::string::npos);
  CHECK(stop.output.find(": the loss is ") != std::string::npos);
  CHECK(stop.output.find("try a lower --lr") != std::string::npos);
  CHECK(stop.output.find("--detect-anomaly") != std::string::npos);
  RunResult anomaly = run("resnet", common + " --detect-anomaly");
  INFO(anomaly.output);
  CHECK(anomaly.exit_code != 0);
  CHECK(anomaly.output.find("resnet: epoch 1, step ") != std::string::npos);
  CHECK(anomaly.output.find(": anomaly detected: ") != std::string::npos);
  CHECK(anomaly.output.find("in module ResNetCifar.") != std::string::npos);
  // 8 batches: fewer than the 10 bad ones in a row after which skipping gives up.
  RunResult skip = run("resnet", common + " --on-nonfinite skip --limit-train 256");
  INFO(skip.output);
  CHECK(skip.exit_code == 0);
  CHECK(skip.output.find("; skipping this batch (1 skipped so far)") != std::string::npos);
  RunResult give_up = run("resnet", common + " --on-nonfinite skip");  // 20 batches
  CHECK(give_up.exit_code != 0);
  CHECK(give_up.output.find("10 batches in a row were non-finite, giving up") != std::string::npos);
  CHECK(run("resnet", common + " --on-nonfinite maybe").exit_code != 0);
}

TEST_CASE("simple_cnn learns the tiny dataset and saves its weights") {
  const fs::path out = tg::test::temp_dir("example_simple_cnn");
  RunResult r = run("simple_cnn", "--epochs 3 --data-root " + tiny_fashion_mnist().string() + " --out " + out.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto losses = values_after(r.output, "mean loss ");
  REQUIRE(losses.size() == 3);
  CHECK(losses.back() < losses.front());
  CHECK(fs::file_size(out / "simple_cnn.safetensors") > 0);
}

TEST_CASE("vanishing_gradients plots both networks' gradient norms and losses") {
  const fs::path out = tg::test::temp_dir("example_vanishing");
  RunResult r = run("vanishing_gradients", "--depth 6 --steps 20 --data-root " + tiny_fashion_mnist().string() +
                                               " --out " + out.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::file_size(out / "gradient_norms.png") > 0);
  CHECK(fs::file_size(out / "loss.png") > 0);
  CHECK(r.output.find("first/last layer gradient norm") != std::string::npos);
}

TEST_CASE("transfer_learning runs its three phases") {
  const fs::path out = tg::test::temp_dir("example_transfer");
  RunResult r = run("transfer_learning", "--depth 8 --epochs 3 --batch-size 32 --data-root " + tiny_fashion_mnist().string() +
                                             " --out " + out.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto accuracies = values_after(r.output, "test accuracy ");
  REQUIRE(accuracies.size() == 3);
  CHECK(accuracies[0] > 20.0);  // five classes: chance is 20%
  CHECK(fs::file_size(out / "source.safetensors") > 0);
}
