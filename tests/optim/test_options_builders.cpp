// LibTorch's optimizer option builders and short forms beside the designated initialisers.
#include <doctest/doctest.h>

#include <tuple>
#include <vector>

#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

namespace {

using tg::Shape;
using tg::Variable;
using namespace tg::optim;

std::vector<Variable> params() {
  return {tg::ones(Shape{2, 3}, true), tg::ones(Shape{3}, true)};
}

// Runs three steps of `opt` on loss = sum(p^2) and returns the first parameter's values.
template <class Opt>
std::vector<float> run(Opt& opt, const std::vector<Variable>& ps) {
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    Variable loss = tg::sum(ps[0] * ps[0]) + tg::sum(ps[1] * ps[1]);
    loss.backward();
    opt.step();
  }
  const auto& v = ps[0].value();
  return std::vector<float>(v.data(), v.data() + v.size());
}

TEST_CASE("SGDOptions: builder, getters, short form") {
  // The porter's lines from the issue.
  const auto o = SGDOptions(0.01).momentum(0.5);
  CHECK(o.lr() == 0.01);
  CHECK(o.momentum() == 0.5);
  CHECK(o.dampening() == 0.0);
  CHECK_FALSE(o.nesterov());
  const auto n = SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(5e-4);
  CHECK(n.nesterov());
  CHECK(n.weight_decay() == 5e-4);

  auto pa = params(), pb = params();
  SGD built(pa, SGDOptions(0.01).momentum(0.5));
  SGD designated(pb, {.lr = 0.01, .momentum = 0.5});
  CHECK(run(built, pa) == run(designated, pb));

  auto pc = params(), pd = params();
  SGD short_form(pc, 0.1);
  SGD long_form(pd, {.lr = 0.1});
  CHECK(short_form.options(0).lr() == 0.1);
  CHECK(run(short_form, pc) == run(long_form, pd));
}

TEST_CASE("AdamOptions and AdamWOptions: betas as a braced pair or LibTorch's tuple") {
  const auto o = AdamOptions(2e-4).betas({0.5, 0.5});
  CHECK(o.lr() == 2e-4);
  CHECK(std::get<0>(o.betas()) == 0.5);
  CHECK(o.betas().second == 0.5);
  const auto t = AdamOptions(1e-3).betas(std::make_tuple(0.5, 0.999)).amsgrad(true);
  CHECK(t.betas.first == 0.5);
  CHECK(t.betas.second == 0.999);
  CHECK(t.amsgrad());

  auto pa = params(), pb = params();
  Adam built(pa, AdamOptions(2e-4).betas({0.5, 0.5}));
  Adam designated(pb, {.lr = 2e-4, .betas = {0.5, 0.5}});
  CHECK(run(built, pa) == run(designated, pb));

  auto pc = params(), pd = params();
  AdamW w_built(pc, AdamWOptions(1e-2).weight_decay(0.1));
  AdamW w_designated(pd, {.lr = 1e-2, .weight_decay = 0.1});
  CHECK(AdamWOptions().weight_decay() == 1e-2);
  CHECK(run(w_built, pc) == run(w_designated, pd));

  auto pe = params(), pf = params();
  Adam a_short(pe, 1e-3);
  Adam a_long(pf, {.lr = 1e-3});
  CHECK(run(a_short, pe) == run(a_long, pf));
}

TEST_CASE("RMSpropOptions") {
  const auto o = RMSpropOptions(1e-3).alpha(0.9).centered(true).momentum(0.1);
  CHECK(o.alpha() == 0.9);
  CHECK(o.centered());
  auto pa = params(), pb = params();
  RMSprop built(pa, o);
  RMSprop designated(pb, {.lr = 1e-3, .alpha = 0.9, .momentum = 0.1, .centered = true});
  CHECK(run(built, pa) == run(designated, pb));
  auto pc = params();
  RMSprop short_form(pc, 1e-3);
  CHECK(short_form.options(0).lr() == 1e-3);
}

TEST_CASE("param_groups(): LibTorch's learning-rate decay loop") {
  auto ps = params();
  SGD opt(ps, SGDOptions(0.1).momentum(0.9));
  for (auto& group : opt.param_groups()) {
    CHECK(group.params().size() == 2);
    static_cast<SGDOptions&>(group.options()).lr(group.options().lr() * 0.5);
  }
  CHECK(opt.lr(0) == 0.05);
  for (auto& group : opt.param_groups()) group.options().set_lr(0.01);
  CHECK(opt.options(0).get_lr() == 0.01);
  CHECK(opt.options(0).momentum() == 0.9);
}

}  // namespace
