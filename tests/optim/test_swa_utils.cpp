// torch.optim.swa_utils: SWALR's rates against PyTorch 1.13's (printed by the script in the
// comment below), update_bn's statistics against the average over the pass, and AveragedModel's
// SWA and EMA averages against their definitions, worked here.
//
//   from torch.optim.swa_utils import SWALR  # per case: SGD groups, SWALR, (step, lrs) x 7
#include <cmath>
#include <vector>

#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/optim/swa_utils.hpp>
#include "test_util.hpp"

using namespace tg;
using namespace tg::optim;
using swa_utils::AnnealStrategy;

namespace {

std::vector<std::vector<double>> lrs_over_steps(SGD& opt, LRScheduler& sched, int steps) {
  std::vector<std::vector<double>> out{opt.lrs()};
  for (int i = 0; i < steps; ++i) sched.step(), out.push_back(opt.lrs());
  return out;
}

void check_rates(const std::vector<std::vector<double>>& got, const std::vector<std::vector<double>>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t s = 0; s < got.size(); ++s)
    for (std::size_t g = 0; g < want[s].size(); ++g) {
      CAPTURE(s);
      CAPTURE(g);
      CHECK(got[s][g] == doctest::Approx(want[s][g]).epsilon(1e-12));
    }
}

struct OnlyBatchNorm : nn::Module {
  nn::BatchNorm2d bn{2};
  OnlyBatchNorm() { register_module("bn", bn); }
  Variable forward(const Variable& x) { return bn(x); }
};

struct ImagesOnly {
  Variable images;
};

}  // namespace

TEST_CASE("SWALR anneals to swa_lr with PyTorch 1.13's rates (cos, linear, two groups, no annealing)") {
  Variable p0(filled({1}, 0.0f), true), p1(filled({1}, 0.0f), true);
  {
    SGD opt({p0}, {.lr = 0.1});
    swa_utils::SWALR sched(opt, 0.05, 3, AnnealStrategy::Cos);
    check_rates(lrs_over_steps(opt, sched, 7), {{0.1}, {0.0875}, {0.0625}, {0.05}, {0.05}, {0.05}, {0.05}, {0.05}});
  }
  {
    SGD opt(std::vector<SGD::Group>{{{p0}, {.lr = 0.1}}, {{p1}, {.lr = 0.3}}}, {.lr = 0.1});
    swa_utils::SWALR sched(opt, 0.05, 4, AnnealStrategy::Linear);
    check_rates(lrs_over_steps(opt, sched, 7), {{0.1, 0.3}, {0.0875, 0.2375}, {0.075, 0.175}, {0.0625, 0.1125},
                                                {0.05, 0.05}, {0.05, 0.05}, {0.05, 0.05}, {0.05, 0.05}});
  }
  {
    SGD opt({p0}, {.lr = 0.2});
    swa_utils::SWALR sched(opt, 0.01, 0);
    check_rates(lrs_over_steps(opt, sched, 7), std::vector<std::vector<double>>(8, {0.01}));
  }
  SGD opt({p0}, {.lr = 0.1});
  CHECK_THROWS_WITH_AS(swa_utils::SWALR(opt, std::vector<double>{0.1, 0.2}),
                       "SWALR: expected one swa_lr per parameter group (1), got 2", tg::Error);
  CHECK_THROWS_WITH_AS(swa_utils::SWALR(opt, 0.1, -1), "SWALR: expected anneal_epochs >= 0, got -1", tg::Error);
}

TEST_CASE("update_bn recomputes BatchNorm statistics as the average over one pass, then restores the model") {
  OnlyBatchNorm model;
  model.eval();
  model.bn->running_mean.value() = filled({2}, 7.0f);  // stale statistics are discarded
  std::vector<ImagesOnly> loader;
  // Batch b: channel 0 holds b + {0, 1, 2, 3}, channel 1 holds 10 * (b + 1) everywhere.
  for (int b = 0; b < 3; ++b) {
    Tensor x = empty_tensor({2, 2, 1, 2});
    for (std::size_t n = 0; n < 2; ++n)
      for (std::size_t w = 0; w < 2; ++w) {
        x(n, 0, 0, w) = static_cast<float>(b) + static_cast<float>(2 * n + w);
        x(n, 1, 0, w) = 10.0f * static_cast<float>(b + 1);
      }
    loader.push_back({Variable(x)});
  }
  swa_utils::update_bn(loader, model);
  // per batch: channel 0 mean b + 1.5, unbiased variance var({0,1,2,3}) = 5/3; channel 1 mean
  // 10(b + 1), variance 0. Averaged over the three batches (momentum None):
  CHECK(model.bn->running_mean.value()(0) == doctest::Approx(2.5));
  CHECK(model.bn->running_mean.value()(1) == doctest::Approx(20.0));
  CHECK(model.bn->running_var.value()(0) == doctest::Approx(5.0 / 3.0));
  CHECK(model.bn->running_var.value()(1) == doctest::Approx(0.0));
  CHECK(model.bn->num_batches_tracked.value()() == 3.0f);
  CHECK(model.bn->options.momentum == 0.1);
  CHECK_FALSE(model.is_training());
}

namespace {
void set_affine(OnlyBatchNorm& m, float w0, float w1, float b) {
  m.bn->weight.value() = tg::test::make({2}, {w0, w1});
  m.bn->bias.value() = filled({2}, b);
}
}  // namespace

TEST_CASE("AveragedModel (SWA) averages the snapshots and runs the model with the average") {
  OnlyBatchNorm model;
  set_affine(model, 1, 2, 0);
  swa_utils::AveragedModel averaged(model);
  averaged.update_parameters(model);  // the first update copies
  set_affine(model, 3, 4, 1);
  averaged.update_parameters(model);
  set_affine(model, 5, 9, 5);
  averaged.update_parameters(model);
  CHECK(averaged.n_averaged() == 3);
  const nn::StateDict dict = averaged.state_dict();
  tg::test::check_close(dict.at("module.bn.weight"), tg::test::make({2}, {3, 5}), 1e-6, 0);
  tg::test::check_close(dict.at("module.bn.bias"), filled({2}, 2), 1e-6, 0);
  CHECK(dict.contains("module.bn.running_mean"));
  CHECK(dict.at("n_averaged")() == 3.0f);
  // eval with running stats 0 and 1: y = x * weight / sqrt(1 + eps) + bias
  model.eval();
  const Variable y = averaged.forward(Variable(filled({1, 2, 1, 1}, 1.0f)));
  CHECK(y.value()(0, 0, 0, 0) == doctest::Approx(3 / std::sqrt(1 + 1e-5) + 2));
  CHECK(y.value()(0, 1, 0, 0) == doctest::Approx(5 / std::sqrt(1 + 1e-5) + 2));
  CHECK(model.bn->weight.value()(1) == 9.0f);  // the model keeps its own values
}

TEST_CASE("AveragedModel with ema(decay) keeps decay * average + (1 - decay) * current") {
  OnlyBatchNorm model;
  set_affine(model, 1, 1, 0);
  swa_utils::AveragedModel averaged(model, swa_utils::ema(0.9));
  averaged.update_parameters(model);
  set_affine(model, 11, 1, 0);
  averaged.update_parameters(model);  // 0.9 * 1 + 0.1 * 11 = 2
  set_affine(model, 2, 1, 0);
  averaged.update_parameters(model);  // 0.9 * 2 + 0.1 * 2 = 2
  set_affine(model, 12, 1, 0);
  averaged.update_parameters(model);  // 0.9 * 2 + 0.1 * 12 = 3
  CHECK(averaged.state_dict().at("module.bn.weight")(0) == doctest::Approx(3.0));
  CHECK_THROWS_WITH_AS(swa_utils::ema(1.5), "ema: expected decay in [0, 1], got 1.5", tg::Error);
}

TEST_CASE("update_bn on an AveragedModel recomputes the average's statistics, not the model's") {
  OnlyBatchNorm model;
  swa_utils::AveragedModel averaged(model);
  averaged.update_parameters(model);
  std::vector<ImagesOnly> loader{{Variable(tg::test::make({2, 2, 1, 1}, {1, 5, 3, 7}))}};
  swa_utils::update_bn(loader, averaged);
  const nn::StateDict dict = averaged.state_dict();
  tg::test::check_close(dict.at("module.bn.running_mean"), tg::test::make({2}, {2, 6}), 1e-6, 0);
  tg::test::check_close(dict.at("module.bn.running_var"), tg::test::make({2}, {2, 2}), 1e-6, 0);
  tg::test::check_close(model.bn->running_mean.value(), filled({2}, 0), 0, 0);
}

TEST_CASE("AveragedModel.load_state_dict restores the average and its count, so updates continue exactly") {
  OnlyBatchNorm model;
  set_affine(model, 1, 1, 0);
  swa_utils::AveragedModel averaged(model, swa_utils::ema(0.9), true);
  averaged.update_parameters(model);
  set_affine(model, 11, 1, 0);
  averaged.update_parameters(model);  // weight 2
  const nn::StateDict saved = averaged.state_dict();

  OnlyBatchNorm other;  // a fresh average: its first update would copy the model
  swa_utils::AveragedModel restored(other, swa_utils::ema(0.9), true);
  restored.load_state_dict(saved);
  CHECK(restored.n_averaged() == 2);
  set_affine(model, 12, 1, 0);
  averaged.update_parameters(model);  // 0.9 * 2 + 0.1 * 12 = 3
  restored.update_parameters(model);
  for (const auto& e : averaged.state_dict())
    tg::test::check_close(restored.state_dict().at(e.name), e.value, 0, 0);
  CHECK(restored.state_dict().at("module.bn.weight")(0) == doctest::Approx(3.0));

  nn::StateDict missing;
  missing.insert("module.bn.weight", filled({2}, 1));
  CHECK_THROWS_WITH_AS(restored.load_state_dict(missing),
                       doctest::Contains("expected an entry 'module.bn.bias'"), tg::Error);
  nn::StateDict extra = saved;
  extra.insert("module.fc.weight", filled({2}, 1));
  CHECK_THROWS_WITH_AS(restored.load_state_dict(extra), doctest::Contains("expected 6 entries, got 7"), tg::Error);
  nn::StateDict wrong_shape = saved;
  wrong_shape.insert("module.bn.weight", filled({3}, 1));
  CHECK_THROWS_WITH_AS(restored.load_state_dict(wrong_shape),
                       "AveragedModel.load_state_dict: module.bn.weight has shape [3], the average [2]", tg::Error);
  CHECK(restored.state_dict().at("module.bn.weight")(0) == doctest::Approx(3.0));  // unchanged
}

TEST_CASE("AveragedModel with use_buffers keeps BatchNorm's num_batches_tracked whole, as PyTorch's long buffer") {
  OnlyBatchNorm model;
  swa_utils::AveragedModel averaged(model, swa_utils::ema(0.9), true);
  model.bn->num_batches_tracked.value() = filled({}, 1);
  averaged.update_parameters(model);  // copies: 1
  model.bn->num_batches_tracked.value() = filled({}, 2);
  set_affine(model, 2, 2, 0);
  averaged.update_parameters(model);  // 0.9 * 1 + 0.1 * 2 = 1.1, truncated to 1
  model.bn->num_batches_tracked.value() = filled({}, 12);
  averaged.update_parameters(model);  // 0.9 * 1 + 0.1 * 12 = 2.1, truncated to 2
  CHECK(averaged.state_dict().at("module.bn.num_batches_tracked")() == 2.0f);
  CHECK(averaged.state_dict().at("module.bn.weight")(0) == doctest::Approx(1.19));  // floats stay as they are
}
