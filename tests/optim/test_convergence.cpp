// Every optimizer trains: a line fit (y = 3x - 1) with each, and XOR with a 2-layer MLP.
#include "optim_test_util.hpp"

using namespace tg;
using namespace tg::optim;

namespace {

// Fits w, b to y = 3x - 1 on 16 points in [-1, 1] by minimising the mean squared error.
template <class Opt, class Options>
void fit_line(Options options, int steps) {
  Variable w(test::make({1}, {0}), true), b(test::make({1}, {0}), true);
  Tensor xs = empty_tensor({16}), ys = empty_tensor({16});
  for (int i = 0; i < 16; ++i) {
    xs(i) = -1.0f + 2.0f * static_cast<float>(i) / 15.0f;
    ys(i) = 3.0f * xs(i) - 1.0f;
  }
  const Variable x(xs), y(ys);
  Opt opt({w, b}, options);
  float loss_value = 0;
  for (int step = 0; step < steps; ++step) {
    opt.zero_grad();
    const Variable err = w * x + b - y;
    const Variable loss = tg::mean(err * err);
    loss.backward();
    opt.step();
    loss_value = loss.item();
  }
  INFO("loss ", loss_value, " w ", w.value()(0), " b ", b.value()(0));
  CHECK(loss_value < 1e-4f);
  CHECK(w.value()(0) == doctest::Approx(3.0).epsilon(0.01));
  CHECK(b.value()(0) == doctest::Approx(-1.0).epsilon(0.01));
}

}  // namespace

TEST_CASE("each optimizer fits y = 3x - 1") {
  SUBCASE("SGD") { fit_line<SGD>(SGDOptions{.lr = 0.1}, 300); }
  SUBCASE("SGD momentum nesterov") { fit_line<SGD>(SGDOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true}, 200); }
  SUBCASE("Adam") { fit_line<Adam>(AdamOptions{.lr = 0.05}, 400); }
  SUBCASE("Adam amsgrad") { fit_line<Adam>(AdamOptions{.lr = 0.05, .amsgrad = true}, 400); }
  SUBCASE("AdamW") { fit_line<AdamW>(AdamWOptions{.lr = 0.05, .weight_decay = 1e-4}, 400); }
  SUBCASE("RMSprop") { fit_line<RMSprop>(RMSpropOptions{.lr = 0.01}, 600); }
  SUBCASE("RMSprop centered momentum") {
    fit_line<RMSprop>(RMSpropOptions{.lr = 0.01, .momentum = 0.5, .centered = true}, 400);
  }
}

TEST_CASE("a 2-layer MLP learns XOR with Adam, a warm-up + cosine schedule and clipping") {
  manual_seed(7);
  const Variable x(test::make({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1}));
  const Variable y(test::make({4, 1}, {0, 1, 1, 0}));
  Generator gen(3);
  Variable w1(rand_tensor({8, 2}, gen, -1, 1), true), b1(rand_tensor({8}, gen, -0.1f, 0.1f), true);
  Variable w2(rand_tensor({1, 8}, gen, -0.5f, 0.5f), true), b2(rand_tensor({1}, gen, -0.1f, 0.1f), true);
  Adam opt({w1, b1, w2, b2}, {.lr = 0.05});
  LinearLR warmup(opt, {.start_factor = 0.1, .total_iters = 20});
  CosineAnnealingLR cosine(opt, 380, 1e-3);
  SequentialLR schedule(opt, {warmup, cosine}, {20});
  float loss_value = 1;
  for (int step = 0; step < 400; ++step) {
    opt.zero_grad();
    const Variable out = tg::linear(tg::relu(tg::linear(x, w1, b1)), w2, b2);
    const Variable loss = tg::mse_loss(out, y);
    loss.backward();
    clip_grad_norm_({w1, b1, w2, b2}, 1.0);
    opt.step();
    schedule.step();
    loss_value = loss.item();
  }
  CHECK(loss_value < 1e-3f);
  CHECK(schedule.get_last_lr()[0] == doctest::Approx(1e-3));
}
