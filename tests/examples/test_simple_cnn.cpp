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
