// The Optimizer base: parameter groups, frozen parameters, zero_grad, option checks, and the
// state round trip (a resumed optimizer continues bit for bit).
#include "optim_test_util.hpp"
#include <tapegrad/nn/nn.hpp>

using namespace tg;
using namespace tg::optim;
using tg::test::set_grad;

namespace {

// Fresh leaves p0 [3, 4] and p1 [5] with the values of a golden case.
std::pair<Variable, Variable> leaves(const test::golden::OptimGolden& c) {
  return {Variable(test::slice(c.init, 0, {3, 4}), true), Variable(test::slice(c.init, 12, {5}), true)};
}

void feed(const test::golden::OptimGolden& c, std::size_t step, Variable p0, Variable p1) {
  set_grad(p0, test::slice(c.grads[step], 0, {3, 4}));
  if (static_cast<int>(step) != c.missing_grad_step) set_grad(p1, test::slice(c.grads[step], 12, {5}));
  else p1.zero_grad();
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

TEST_CASE("parameter groups: each its own lr, unset options inherited, lr readable and writable") {
  Variable a(test::make({2}, {1, 2}), true), b(test::make({2}, {3, 4}), true);
  SGD opt({{{a}, {.lr = 0.5}}, {{b}}}, {.lr = 0.1, .weight_decay = 0.25});
  REQUIRE(opt.num_param_groups() == 2);
  CHECK(opt.lr(0) == 0.5);
  CHECK(opt.lr(1) == 0.1);
  CHECK(opt.options(0).weight_decay == 0.25);  // inherited
  CHECK(opt.lrs() == std::vector<double>{0.5, 0.1});
  set_grad(a, test::make({2}, {1, 1}));
  set_grad(b, test::make({2}, {1, 1}));
  opt.step();
  // p -= lr * (g + wd * p)
  test::check_close(a.value(), test::make({2}, {1 - 0.5f * 1.25f, 2 - 0.5f * 1.5f}), 1e-6, 0);
  test::check_close(b.value(), test::make({2}, {3 - 0.1f * 1.75f, 4 - 0.1f * 2.0f}), 1e-6, 0);
  opt.set_lr(1, 0.0);
  const Tensor before = b.value();
  opt.step();
  CHECK(same_bits(b.value(), before));
}

TEST_CASE("add_param_group: inherits the defaults, overrides what it sets") {
  Variable a(test::make({1}, {1}), true), b(test::make({1}, {1}), true);
  Adam opt({a}, {.lr = 0.01, .betas = {0.8, 0.9}});
  opt.add_param_group({{b}, {.lr = 0.1, .amsgrad = true}});
  CHECK(opt.num_param_groups() == 2);
  CHECK(opt.options(1).lr == 0.1);
  CHECK(opt.options(1).amsgrad);
  CHECK(opt.options(1).betas.first == 0.8);
  CHECK(opt.defaults().lr == 0.01);
  CHECK_THROWS_WITH_AS(opt.add_param_group({{a}}), doctest::Contains("expected each parameter once"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(opt.options(2), doctest::Contains("expected a parameter group index below 2"),
                       tg::Error);
}

TEST_CASE("frozen parameters and parameters without a gradient are skipped") {
  Variable live(test::make({2}, {1, 1}), true), frozen(test::make({2}, {5, 5}), true);
  frozen.set_requires_grad(false);
  RMSprop opt({live, frozen}, {.momentum = 0.9});
  auto loss = tg::sum(live * frozen);  // frozen gets no gradient
  loss.backward();
  CHECK_FALSE(frozen.has_grad());
  opt.step();
  CHECK(same_bits(frozen.value(), test::make({2}, {5, 5})));
  CHECK(opt.state(0, 1).step == 0);
  CHECK(opt.state(0, 0).step == 1);
  CHECK(live.value()(0) < 1.0f);
}

TEST_CASE("zero_grad drops every gradient (set to none)") {
  Variable a(test::make({2}, {1, 2}), true), b(test::make({1}, {3}), true);
  SGD opt(std::vector<SGD::Group>{{{a}}, {{b}}}, {.lr = 0.1});
  set_grad(a, test::make({2}, {1, 1}));
  set_grad(b, test::make({1}, {1}));
  opt.zero_grad();
  CHECK_FALSE(a.has_grad());
  CHECK_FALSE(b.has_grad());
  opt.step();  // nothing to do
  CHECK(same_bits(a.value(), test::make({2}, {1, 2})));
}

TEST_CASE("defaults are PyTorch's") {
  CHECK(SGDOptions{}.momentum == 0.0);
  CHECK(AdamOptions{}.lr == 1e-3);
  CHECK(AdamOptions{}.betas == std::pair{0.9, 0.999});
  CHECK(AdamOptions{}.eps == 1e-8);
  CHECK(AdamOptions{}.weight_decay == 0.0);
  CHECK(AdamWOptions{}.weight_decay == 1e-2);
  CHECK(RMSpropOptions{}.lr == 1e-2);
  CHECK(RMSpropOptions{}.alpha == 0.99);
}

TEST_CASE("bad options and parameters are tg::Errors naming the optimizer") {
  Variable w(test::make({2}, {1, 2}), true);
  CHECK_THROWS_WITH_AS(SGD({w}, {.lr = -0.1}), doctest::Contains("SGD: expected lr >= 0, got -0.1"), tg::Error);
  CHECK_THROWS_WITH_AS(SGD({w}, {.momentum = -1}), doctest::Contains("expected momentum in [0, 1], got -1"), tg::Error);
  CHECK_THROWS_WITH_AS(SGD({w}, {.nesterov = true}),
                       doctest::Contains("expected momentum > 0 and dampening = 0 for Nesterov"), tg::Error);
  CHECK_THROWS_WITH_AS(SGD({w}, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                       doctest::Contains("dampening 0.1"), tg::Error);
  CHECK_THROWS_WITH_AS(SGD({{{w}, {.lr = -1.0}}}), doctest::Contains("expected lr >= 0"), tg::Error);
  CHECK_THROWS_WITH_AS(Adam({w}, {.betas = {1.0, 0.999}}),
                       doctest::Contains("Adam: expected betas.first in [0, 1), got 1"), tg::Error);
  CHECK_THROWS_WITH_AS(AdamW({w}, {.betas = {0.9, -0.1}}),
                       doctest::Contains("AdamW: expected betas.second in [0, 1)"), tg::Error);
  CHECK_THROWS_WITH_AS(Adam({w}, {.eps = -1}), doctest::Contains("expected eps > 0 and finite, got -1"), tg::Error);
  CHECK_THROWS_WITH_AS(AdamW({w}, {.weight_decay = -1}), doctest::Contains("expected weight_decay >= 0"), tg::Error);
  CHECK_THROWS_WITH_AS(RMSprop({w}, {.alpha = -0.5}), doctest::Contains("RMSprop: expected alpha in [0, 1], got -0.5"), tg::Error);
  CHECK_THROWS_WITH_AS(RMSprop({w}, {.lr = std::nan("")}), doctest::Contains("expected lr >= 0, got nan"), tg::Error);
  CHECK_THROWS_WITH_AS(SGD(std::vector<Variable>{}), doctest::Contains("SGD: expected at least one parameter"), tg::Error);
  CHECK_THROWS_WITH_AS(SGD({w, Variable()}), doctest::Contains("expected defined parameters"), tg::Error);
  CHECK_THROWS_WITH_AS(SGD({w, w * 2.0f}), doctest::Contains("expected leaf parameters, got the result of '"), tg::Error);
  CHECK_THROWS_WITH_AS(SGD({w, w}), doctest::Contains("expected each parameter once"), tg::Error);
}

TEST_CASE("a gradient of the wrong shape is refused before any update") {
  Variable w(test::make({2}, {1, 2}), true);
  SGD opt({w}, {.lr = 0.1});
  set_grad(w, test::make({2}, {1, 1}));
  w.grad() = test::make({3}, {1, 1, 1});
  CHECK_THROWS_WITH_AS(opt.step(), doctest::Contains("SGD: expected the gradient of parameter 0 of group 0 "
                                                     "to have the parameter's shape [2], got [3]"), tg::Error);
  CHECK(same_bits(w.value(), test::make({2}, {1, 2})));
}

TEST_CASE("state round trip: 5 steps + save + load into a fresh optimizer + 5 steps == 10 steps, bit for bit") {
  // One golden configuration per optimizer and option family, missing gradients included.
  for (const char* name : {"sgd_nesterov_wd", "sgd_missing_grad", "adam_amsgrad_wd_eps", "adam_groups",
                           "adamw_wd_amsgrad", "rmsprop_centered_momentum_wd", "rmsprop_missing_grad"}) {
    INFO(name);
    const auto& c = *std::find_if(test::golden::kOptimGolden.begin(), test::golden::kOptimGolden.end(),
                                  [&](const auto& g) { return std::string(g.name) == name; });
    // Twice through the 6 golden gradients: 12 steps, restarting at step 6.
    auto [a0, a1] = leaves(c);
    auto straight = test::make_golden_optimizer(c, a0, a1);
    auto [b0, b1] = leaves(c);
    auto first = test::make_golden_optimizer(c, b0, b1);
    for (std::size_t step = 0; step < 6; ++step) {
      feed(c, step, a0, a1);
      straight->step();
      feed(c, step, b0, b1);
      first->step();
    }
    const nn::TensorArchive saved = first->state_dict();
    Variable r0(b0.value(), true), r1(b1.value(), true);  // what a checkpoint restores
    auto resumed = test::make_golden_optimizer(c, r0, r1);
    resumed->load_state_dict(saved);
    for (std::size_t step = 0; step < 6; ++step) {
      feed(c, step, a0, a1);
      straight->step();
      feed(c, step, r0, r1);
      resumed->step();
      CHECK(same_bits(r0.value(), a0.value()));
      CHECK(same_bits(r1.value(), a1.value()));
    }
  }
}

TEST_CASE("state_dict: buffers as tensors, steps and options as metadata") {
  Variable a(test::make({2}, {1, 2}), true), b(test::make({3}, {1, 2, 3}), true);
  SGD opt({{{a}, {.lr = 0.5}}, {{b}}}, {.lr = 0.1, .momentum = 0.9});
  set_grad(b, test::make({3}, {1, 1, 1}));
  opt.step();
  opt.set_initial_lr(0, 0.5);
  const auto state = opt.state_dict();
  CHECK(state.metadata.at("optimizer") == "SGD");
  CHECK(state.metadata.at("param_groups") == "2");
  CHECK(state.metadata.at("param_groups.0.lr") == "0.5");
  CHECK(state.metadata.at("param_groups.0.initial_lr") == "0.5");
  CHECK(state.metadata.at("param_groups.1.momentum") == "0.9");
  CHECK(state.metadata.at("param_groups.1.nesterov") == "false");
  CHECK(state.metadata.at("state.1.step") == "1");
  CHECK(state.metadata.count("state.0.step") == 0);  // a never had a gradient
  REQUIRE(state.tensors.size() == 1);
  CHECK(same_bits(state.tensors.at("state.1.momentum_buffer"), test::make({3}, {1, 1, 1})));
}

TEST_CASE("load_state_dict refuses another optimizer's state and changes nothing") {
  Variable a(test::make({2}, {1, 2}), true), b(test::make({3}, {1, 2, 3}), true);
  Adam opt({a, b}, {.lr = 0.1});
  set_grad(a, test::make({2}, {1, 1}));
  set_grad(b, test::make({3}, {1, 1, 1}));
  opt.step();
  const auto good = opt.state_dict();

  Variable c(test::make({2}, {0, 0}), true), d(test::make({3}, {0, 0, 0}), true);
  SGD sgd({c, d});
  CHECK_THROWS_WITH_AS(sgd.load_state_dict(good), doctest::Contains("expected the state of a SGD, got that of a Adam"),
                       tg::Error);
  Adam one_group({c}, {.lr = 0.3});
  CHECK_THROWS_WITH_AS(one_group.load_state_dict(good), doctest::Contains("expected 1 parameters in group 0, got 2"),
                       tg::Error);
  Variable e(test::make({3}, {0, 0, 0}), true), f(test::make({2}, {0, 0}), true);
  Adam swapped({e, f}, {.lr = 0.3});
  CHECK_THROWS_WITH_AS(swapped.load_state_dict(good),
                       doctest::Contains("expected 'state.0.exp_avg' of shape [3], got [2]"), tg::Error);
  CHECK(swapped.lr(0) == 0.3);  // unchanged
  CHECK(swapped.state(0, 0).step == 0);

  auto bad_option = good;
  bad_option.metadata["param_groups.0.lr"] = "-1";
  Adam target({c, d}, {.lr = 0.3});
  CHECK_THROWS_WITH_AS(target.load_state_dict(bad_option), doctest::Contains("expected lr >= 0"), tg::Error);
  CHECK(target.lr(0) == 0.3);  // rolled back
  auto bad_key = good;
  bad_key.tensors["state.0.velocity"] = test::make({2}, {0, 0});
  CHECK_THROWS_WITH_AS(target.load_state_dict(bad_key), doctest::Contains("expected a Adam buffer name, got 'state.0.velocity'"),
                       tg::Error);
  target.load_state_dict(good);
  CHECK(target.lr(0) == 0.1);
  CHECK(target.state(0, 1).step == 1);
}

namespace {

// A small regression model and batch; SGD at lr 1e4 overshoots further at every step.
struct Diverging {
  nn::Linear fc1{4, 8}, fc2{8, 1};
  Variable x, target;
  Diverging() {
    manual_seed(3);
    fc1 = nn::Linear(4, 8);
    fc2 = nn::Linear(8, 1);
    x = randn({16, 4});
    target = randn({16, 1});
  }
  std::vector<Variable> parameters() const {
    auto p = fc1->parameters(), q = fc2->parameters();
    p.insert(p.end(), q.begin(), q.end());
    return p;
  }
  // One training step; returns the loss.
  float step(SGD& opt) {
    Variable loss = mse_loss(fc2(fc1(x)), target);
    opt.zero_grad();
    loss.backward();
    opt.step();
    return loss.item();
  }
};

}  // namespace

TEST_CASE("SGD at lr 1e4 goes non-finite silently; anomaly mode stops at the first bad op") {
  int first_bad = -1;
  {
    Diverging run;
    SGD opt(run.parameters(), {.lr = 1e4});
    for (int s = 0; s < 40 && first_bad < 0; ++s)
      if (!std::isfinite(run.step(opt))) first_bad = s;
  }
  REQUIRE(first_bad > 0);  // it did train silently until there
  Diverging run;
  SGD opt(run.parameters(), {.lr = 1e4});
  autograd::DetectAnomalyGuard guard;
  int stopped = -1;
  std::string message;
  for (int s = 0; s < 40 && stopped < 0; ++s) {
    try {
      run.step(opt);
    } catch (const Error& e) {
      stopped = s;
      message = e.what();
    }
  }
  CHECK(stopped == first_bad);  // the step whose loss overflowed, before its update
  CHECK(message.find("anomaly detected: mse_loss returned 1 of 1 values non-finite") == 0);
  CHECK(message.find("for inputs of shapes [16, 1], [16, 1]") != std::string::npos);
  CHECK(message.find("its inputs are finite: this op made the NaN/Inf") != std::string::npos);
  for (const Variable& p : run.parameters())  // no NaN/Inf reached a parameter
    for (float v : p.value()) CHECK(std::isfinite(v));
}
