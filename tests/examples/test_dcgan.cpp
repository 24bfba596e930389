// Smoke test of examples/dcgan: a few steps on the tiny dataset give finite losses and one
// sample grid per epoch; a bad option is a usage error.
#include <cmath>

#include <tapegrad/data/data.hpp>

#include "examples/example_util.hpp"

namespace fs = std::filesystem;
using tg::test::run;
using tg::test::RunResult;
using tg::test::tiny_fashion_mnist;
using tg::test::values_after;

TEST_CASE("dcgan trains a few steps with finite losses and saves a sample grid each epoch") {
  const fs::path out = tg::test::temp_dir("example_dcgan");
  RunResult r = run("dcgan", "--epochs 2 --batches 3 --batch-size 8 --log-interval 1 --data-root " +
                                 tiny_fashion_mnist().string() + " --out " + out.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto d_losses = values_after(r.output, "D_loss: ");
  const auto g_losses = values_after(r.output, "G_loss: ");
  REQUIRE(d_losses.size() == 6);  // 3 steps in each of 2 epochs
  REQUIRE(g_losses.size() == 6);
  for (std::size_t i = 0; i < d_losses.size(); ++i) {
    CHECK(std::isfinite(d_losses[i]));
    CHECK(d_losses[i] > 0);
    CHECK(std::isfinite(g_losses[i]));
    CHECK(g_losses[i] > 0);
  }
  for (const char* name : {"dcgan-epoch-1.png", "dcgan-epoch-2.png"}) {
    CAPTURE(name);
    REQUIRE(fs::exists(out / name));
    // An 8x8 grid of 28x28 samples with 2-pixel borders, grey.
    const tg::Tensor grid = tg::data::read_image(out / name, 1);
    CHECK(grid.shape() == tg::Shape{1, 8 * 30 + 2, 8 * 30 + 2});
  }
  CHECK(r.output.find("Training complete!") != std::string::npos);
}

TEST_CASE("dcgan rejects an unknown option with its usage line") {
  RunResult r = run("dcgan", "--epochs two");
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("usage: dcgan") != std::string::npos);
}
