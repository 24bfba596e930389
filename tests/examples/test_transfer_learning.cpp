// Smoke test of examples/transfer_learning: runs its three phases.
#include <fstream>

#include "examples/example_util.hpp"

namespace fs = std::filesystem;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;
using tg::test::values_after;

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
