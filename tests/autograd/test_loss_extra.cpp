// binary_cross_entropy on probabilities, smooth_l1_loss, huber_loss, and nll_loss /
// cross_entropy with class weights and ignore_index: PyTorch-derived goldens
// (golden/make_layers_golden.py), finite-difference gradient checks and the errors.
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/golden/layers_golden.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::check_close;

namespace {

Labels labels6() {
  const Tensor f = golden::layers("labels6");
  Labels y = xt::zeros<std::int64_t>({f.size()});
  for (std::size_t i = 0; i < f.size(); ++i) y(i) = static_cast<std::int64_t>(f.data()[i]);
  return y;
}

// Runs fn on (x [, t]), checks y and the gradients against golden `name`.
template <typename Fn>
void check_golden(const std::string& name, const Variable& x, const Variable& t, Fn fn) {
  Variable y = fn(x, t);
  check_close(y.value(), golden::layers(name + ".y"), 1e-5, 1e-5);
  y.backward(golden::layers(name + ".gy"));
  check_close(x.grad(), golden::layers(name + ".gx"), 1e-5, 1e-4);
  if (t.defined() && t.requires_grad()) check_close(t.grad(), golden::layers(name + ".gt"), 1e-5, 1e-4);
}

}  // namespace

TEST_CASE("binary_cross_entropy matches PyTorch, with weight and every reduction") {
  const Tensor w = golden::layers("bce_p.w");
  struct Case {
    const char* name;
    BCELossOptions options;
  };
  for (const Case& c : {Case{"bce_p_mean", {}}, Case{"bce_p_sum_w", {.weight = w, .reduction = Reduction::Sum}},
                        Case{"bce_p_none_w", {.weight = w, .reduction = Reduction::None}}}) {
    CAPTURE(std::string(c.name));
    Variable x(golden::layers("bce_p.x"), true), t(golden::layers("bce_p.t"), true);
    const BCELossOptions o = c.options;
    check_golden(c.name, x, t, [o](const Variable& a, const Variable& b) {
      return binary_cross_entropy(a, b, o);
    });
  }
  // log clamped at -100: probabilities of exactly 0 and 1 give finite losses, as PyTorch.
  const Variable x(golden::layers("bce_edge.x")), t(golden::layers("bce_edge.t"));
  check_close(binary_cross_entropy(x, t, {.reduction = Reduction::None}).value(),
              golden::layers("bce_edge.y"), 1e-4, 1e-6);
  // A weight of one row broadcasts over the rows.
  const Variable p(golden::layers("bce_p.x")), tt(golden::layers("bce_p.t"));
  Tensor row = empty_tensor({5}), full = empty_tensor({2, 5});
  for (std::size_t i = 0; i < 10; ++i) full.data()[i] = row.data()[i % 5] = w.data()[i % 5];
  CHECK(binary_cross_entropy(p, tt, {.weight = row}).item() ==
        doctest::Approx(binary_cross_entropy(p, tt, {.weight = full}).item()));
}

TEST_CASE("binary_cross_entropy gradients pass the finite-difference check") {
  std::vector<Variable> inputs = {Variable(test::uniform({3, 4}, 0.1f, 0.9f, 1), true),
                                  Variable(test::uniform({3, 4}, 0.0f, 1.0f, 2), true)};
  const Tensor w = test::uniform({4}, 0.5f, 2.0f, 3);
  auto fn = [w](const std::vector<Variable>& v) {
    return binary_cross_entropy(v[0], v[1], {.weight = w, .reduction = Reduction::Sum});
  };
  const GradcheckResult r = gradcheck(fn, inputs, {.eps = 1e-3, .atol = 2e-2, .rtol = 2e-2});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("smooth_l1_loss and huber_loss match PyTorch") {
  struct Case {
    const char* name;
    bool huber;
    Reduction reduction;
    double param;
  };
  for (const Case& c : {Case{"sl1_mean", false, Reduction::Mean, 1.0},
                        Case{"sl1_sum_b05", false, Reduction::Sum, 0.5},
                        Case{"sl1_none_b0", false, Reduction::None, 0.0},
                        Case{"huber_mean", true, Reduction::Mean, 1.0},
                        Case{"huber_none_d2", true, Reduction::None, 2.0},
                        Case{"huber_sum_d05", true, Reduction::Sum, 0.5}}) {
    CAPTURE(std::string(c.name));
    Variable x(golden::layers("robust.x"), true), t(golden::layers("robust.t"), true);
    check_golden(c.name, x, t, [c](const Variable& a, const Variable& b) {
      return c.huber ? huber_loss(a, b, {.reduction = c.reduction, .delta = c.param})
                     : smooth_l1_loss(a, b, {.reduction = c.reduction, .beta = c.param});
    });
  }
}

TEST_CASE("smooth_l1_loss and huber_loss gradients pass the finite-difference check") {
  // Differences kept away from the kinks at +-beta, where the second derivative jumps.
  const Tensor x = test::uniform({2, 5}, -3, 3, 4);
  Tensor t = x;
  const Tensor d = test::uniform({2, 5}, 0.2f, 2.5f, 5);
  for (std::size_t i = 0; i < t.size(); ++i) {
    float di = d.data()[i] * (i % 2 ? -1.0f : 1.0f);
    if (std::abs(std::abs(di) - 0.8f) < 0.1f) di += 0.3f;
    t.data()[i] = x.data()[i] - di;
  }
  for (int huber = 0; huber < 2; ++huber) {
    CAPTURE(huber);
    auto fn = [huber](const std::vector<Variable>& v) {
      return huber ? huber_loss(v[0], v[1], {.reduction = Reduction::Mean, .delta = 0.8})
                   : smooth_l1_loss(v[0], v[1], {.reduction = Reduction::Sum, .beta = 0.8});
    };
    const GradcheckResult r = gradcheck(fn, {Variable(x, true), Variable(t, true)}, {.eps = 1e-3, .atol = 1e-2});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("nll_loss and cross_entropy with class weights and ignore_index match PyTorch") {
  const Tensor w = golden::layers("class_w");
  const Labels y = labels6();
  using R = Reduction;
  struct Case {
    const char* name;
    bool ce;
    bool weighted;
    std::int64_t ignore;
    float ls;
    Reduction reduction;
  };
  for (const Case& c : {Case{"nll_w_mean", false, true, -100, 0, R::Mean},
                        Case{"nll_w_ign_mean", false, true, 2, 0, R::Mean},
                        Case{"nll_ign_sum", false, false, 1, 0, R::Sum},
                        Case{"nll_w_none", false, true, 3, 0, R::None},
                        Case{"ce_w_mean", true, true, -100, 0, R::Mean},
                        Case{"ce_w_ign_mean", true, true, 2, 0, R::Mean},
                        Case{"ce_ign_ls_mean", true, false, 0, 0.2f, R::Mean},
                        Case{"ce_w_ls_mean", true, true, -100, 0.1f, R::Mean},
                        Case{"ce_w_ign_ls_sum", true, true, 3, 0.3f, R::Sum},
                        Case{"ce_w_ign_ls_none", true, true, 1, 0.3f, R::None}}) {
    CAPTURE(std::string(c.name));
    Variable x(golden::layers(std::string(c.name) + ".x"), true);
    const Variable weight = c.weighted ? Variable(w) : Variable();
    check_golden(c.name, x, Variable(), [&](const Variable& a, const Variable&) {
      if (c.ce)
        return cross_entropy(a, y, {.reduction = c.reduction, .label_smoothing = c.ls,
                                    .weight = weight, .ignore_index = c.ignore});
      return nll_loss(a, y, {.weight = weight, .ignore_index = c.ignore, .reduction = c.reduction});
    });
  }
  // Without weights and with nothing ignored, the fused path and the weighted one agree.
  const Variable z(golden::layers("ce_w_mean.x"));
  CHECK(cross_entropy(z, y, {.label_smoothing = 0.1f}).item() ==
        doctest::Approx(cross_entropy(z, y, {.label_smoothing = 0.1f, .weight = Tensor(xt::ones<float>({4}))}).item()));
}

TEST_CASE("cross_entropy with class weights and probability targets matches PyTorch") {
  const Tensor w = golden::layers("class_w");
  for (const auto& [name, reduction, ls] :
       {std::tuple{"ce_soft_w_mean", Reduction::Mean, 0.0f}, std::tuple{"ce_soft_w_none_ls", Reduction::None, 0.2f}}) {
    CAPTURE(std::string(name));
    Variable x(golden::layers(std::string(name) + ".x"), true), t(golden::layers(std::string(name) + ".t"), true);
    const Reduction r = reduction;
    const float s = ls;
    check_golden(name, x, t, [&](const Variable& a, const Variable& b) {
      return cross_entropy(a, b, {.reduction = r, .label_smoothing = s, .weight = w});
    });
  }
  const GradcheckResult r = gradcheck(
      [&](const std::vector<Variable>& v) {
        return cross_entropy(v[0], v[1], {.reduction = Reduction::Sum, .label_smoothing = 0.1f, .weight = w});
      },
      {Variable(test::uniform({3, 4}, -2, 2, 21), true), Variable(test::uniform({3, 4}, 0, 1, 22), true)},
      {.eps = 1e-2, .atol = 2e-3});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("weighted nll_loss and cross_entropy gradients pass the finite-difference check") {
  const Labels y = labels6();
  const Tensor w = golden::layers("class_w");
  for (int ce = 0; ce < 2; ++ce) {
    CAPTURE(ce);
    auto fn = [&](const std::vector<Variable>& v) {
      return ce ? cross_entropy(v[0], y, {.label_smoothing = 0.2f, .weight = w, .ignore_index = 1})
                : nll_loss(v[0], y, {.weight = w, .ignore_index = 1});
    };
    const GradcheckResult r =
        gradcheck(fn, {Variable(test::uniform({6, 4}, -2, 2, 6 + ce), true)}, {.eps = 1e-2, .atol = 2e-3});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("the added losses: bad input gives tg::Error naming the problem") {
  const Variable p(filled({2, 3}, 0.5f)), t(filled({2, 3}, 1.0f));
  CHECK_THROWS_WITH_AS(binary_cross_entropy(Variable(filled({2, 3}, 1.5f)), t),
                       doctest::Contains("probabilities in [0, 1]"), Error);
  CHECK_THROWS_WITH_AS(binary_cross_entropy(p, Variable(filled({3, 2}, 1.0f))),
                       doctest::Contains("target of the input's shape"), Error);
  CHECK_THROWS_WITH_AS(binary_cross_entropy(p, t, {.weight = filled({2}, 1.0f)}),
                       doctest::Contains("expected weight"), Error);
  CHECK_THROWS_WITH_AS(smooth_l1_loss(p, t, {.beta = -1}), doctest::Contains("beta >= 0"), Error);
  CHECK_THROWS_WITH_AS(huber_loss(p, t, {.delta = 0}), doctest::Contains("delta > 0"), Error);
  Labels y = {0, 5};
  CHECK_THROWS_WITH_AS(nll_loss(p, y, {.ignore_index = 1}), doctest::Contains("got label 5"), Error);
  y = {0, 1};
  CHECK_THROWS_WITH_AS(cross_entropy(p, y, {.weight = filled({2}, 1.0f)}),
                       doctest::Contains("expected weight [3]"), Error);
  y = {1, 1};
  CHECK_THROWS_WITH_AS(nll_loss(p, y, {.ignore_index = 1}),
                       doctest::Contains("positive total weight"), Error);
  CHECK(nll_loss(p, y, {.ignore_index = 1, .reduction = Reduction::Sum}).item() == 0.0f);
  CHECK_THROWS_WITH_AS(cross_entropy(p, Variable(filled({2, 3}, 0.3f)), {.ignore_index = 0}),
                       doctest::Contains("ignore_index is not supported with probability"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(p, Variable(filled({2, 3}, 0.3f)), {.weight = filled({2}, 1.0f)}),
                       doctest::Contains("expected weight [3]"), Error);
}
