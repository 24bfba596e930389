// Smoke test of examples/higher_order: double backpropagation trains, the power iteration
// gives a finite top eigenvalue, and both pictures are written.
#include <cmath>

#include "examples/example_util.hpp"

namespace fs = std::filesystem;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;
using tg::test::values_after;

TEST_CASE("higher_order trains with double backpropagation and finds the Hessian's top eigenvalue") {
  const fs::path out = tg::test::temp_dir("example_higher_order");
  RunResult r = run("higher_order", "--steps 20 --batch 32 --power-iterations 5 --hessian-batch 64 --data-root " +
                                        tiny_fashion_mnist().string() + " --out " + out.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto clean = values_after(r.output, "noise sigma 0.0: test accuracy plain ");
  REQUIRE(clean.size() == 1);
  CHECK(clean[0] > 50.0);  // the tiny classes are easy: 20 steps learn them
  const auto robust = values_after(r.output, "double backprop ");
  CHECK_FALSE(robust.empty());
  const auto eig = values_after(r.output, "top Hessian eigenvalue after 20 steps at lr 0.1: ");
  REQUIRE(eig.size() == 1);
  CHECK(std::isfinite(eig[0]));
  CHECK(eig[0] > 0.0);
  CHECK(fs::file_size(out / "noise_robustness.png") > 0);
  CHECK(fs::file_size(out / "sharpness.png") > 0);
}

TEST_CASE("higher_order refuses a bad option with a message") {
  RunResult r = run("higher_order", "--steps 0");
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("expected --steps") != std::string::npos);
}
