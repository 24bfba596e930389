// examples/trainer's option checks (issue 36, finding 10): a run of a single training step
// trains, and each value out of its option's range is refused before anything starts, with a
// message naming the option and the range; a bad --export path is reported before training.
#include <fstream>

#include "examples/example_util.hpp"

namespace fs = std::filesystem;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;

namespace {

const std::string& tiny_data() {
  static const std::string args = "--data fashion-mnist:" + tiny_fashion_mnist().string() +
                                  " --depth 8 --workers 0 --limit-test 10 ";
  return args;
}

// Refused at startup: a non-zero exit, the message, and no epoch begun.
void refused(const std::string& args, const std::string& message) {
  const RunResult r = run("trainer", tiny_data() + args);
  INFO(args);
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find(message) != std::string::npos);
  CHECK(r.output.find("epoch 1/") == std::string::npos);
}

}  // namespace

TEST_CASE("trainer: a run of a single training step trains (the warm-up's clamp had inverted bounds)") {
  const fs::path out = tg::test::temp_dir("example_trainer_one_step");
  const RunResult r =
      run("trainer", tiny_data() + "--limit-train 32 --batch-size 32 --epochs 1 --out " + out.string());
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("LinearLR") == std::string::npos);
  CHECK(r.output.find("final test accuracy") != std::string::npos);
  CHECK(tg::test::csv_rows(out / "metrics.csv").size() == 1);
}

TEST_CASE("trainer refuses --warmup-epochs outside [0, --epochs]") {
  for (const char* value : {"nan", "-5", "1e30", "3.5"})
    refused(std::string("--epochs 3 --warmup-epochs ") + value, "--warmup-epochs: expected a number of epochs in [0, 3]");
}

TEST_CASE("trainer refuses --threads outside [0, 1024], --stop-after below 0 and a --seed past 2^64 - 1") {
  refused("--threads 10000", "--threads: expected a number in [0, 1024], got 10000");
  refused("--threads -1", "--threads: expected a number in [0, 1024], got -1");
  refused("--stop-after -1", "--stop-after: expected a number >= 0, got -1");
  refused("--seed 18446744073709551616", "--seed: expected a whole number in [0, 18446744073709551615]");
  refused("--seed 99999999999999999999999", "--seed: expected a whole number in [0, 18446744073709551615]");
  refused("--seed 0x10", "--seed: expected a whole number in [0, 18446744073709551615]");
}

TEST_CASE("trainer reports a bad --export path before training, and makes a missing folder") {
  const fs::path dir = tg::test::temp_dir("example_trainer_export");
  std::ofstream(dir / "a_file") << "not a folder";
  const std::string under_a_file = (dir / "a_file" / "model.onnx").string();
  const RunResult not_a_folder = run("trainer", tiny_data() + "--export " + under_a_file);
  const RunResult a_folder = run("trainer", tiny_data() + "--export " + dir.string());
  for (const RunResult* r : {&not_a_folder, &a_folder}) {
    INFO(r->output);
    CHECK(r->exit_code != 0);
    CHECK(r->output.find("epoch 1/") == std::string::npos);
  }
  // Without ONNX support the message says so instead, also before training.
  if (not_a_folder.output.find("needs tapegrad built with ONNX support") != std::string::npos) return;
  CHECK(not_a_folder.output.find("--export: cannot make the folder " + (dir / "a_file").string()) != std::string::npos);
  CHECK(a_folder.output.find("--export: expected a file name, got the folder " + dir.string()) != std::string::npos);

  // A folder that does not exist yet is made, as --out's is: the README's
  // `--export out/resnet20.onnx` on a fresh clone.
  const fs::path model = dir / "new" / "folder" / "model.onnx";
  const RunResult made = run("trainer", tiny_data() + "--limit-train 32 --batch-size 32 --epochs 1 --out " +
                                            (dir / "out").string() + " --export " + model.string());
  INFO(made.output);
  CHECK(made.exit_code == 0);
  CHECK(fs::file_size(model) > 0);
}
