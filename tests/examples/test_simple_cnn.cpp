// Smoke test of examples/simple_cnn: learns the tiny dataset and saves its weights.
#include <fstream>

#include "examples/example_util.hpp"

namespace fs = std::filesystem;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;
using tg::test::values_after;

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

TEST_CASE("simple_cnn explains a bad command line and lists its options") {
  const RunResult unknown = run("simple_cnn", "--depth 3");
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.output.find("unknown option --depth") != std::string::npos);
  const RunResult bad = run("simple_cnn", "--epochs 0");
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("--epochs: expected a whole number >= 1, got '0'") != std::string::npos);
  const RunResult help = run("simple_cnn", "--help");
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("--cifar10") != std::string::npos);
}
