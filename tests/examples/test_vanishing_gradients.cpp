// Smoke test of examples/vanishing_gradients: plots both networks' gradient norms and losses.
#include <fstream>

#include "examples/example_util.hpp"

namespace fs = std::filesystem;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;
using tg::test::values_after;

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
