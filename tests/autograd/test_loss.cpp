// softmax, log_softmax and the losses: hand-worked numbers, stability at extreme logits,
// PyTorch-derived golden values (golden/), finite-difference gradient checks over every
// reduction and label smoothing, and the errors.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "autograd/golden/golden.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::check_close;
using tg::test::make;

namespace {

Labels labels_of(std::vector<std::int64_t> values) {
  Labels l = Labels::from_shape({values.size()});
  std::copy(values.begin(), values.end(), l.data());
  return l;
}

bool all_finite(const Tensor& t) {
  for (float v : t)
    if (!std::isfinite(v)) return false;
  return true;
}

// ------------------------------------------------------------------------------- softmax

TEST_CASE("softmax and log_softmax by hand, along any dim") {
  const Variable x(make({2, 3}, {1, 2, 3, 1, 1, 1}));
  check_close(softmax(x).value(), make({2, 3}, {0.09003057f, 0.24472847f, 0.66524096f, 1 / 3.f, 1 / 3.f, 1 / 3.f}));
  check_close(log_softmax(x, 1).value(),
              make({2, 3}, {-2.40760596f, -1.40760596f, -0.40760596f, -1.09861229f, -1.09861229f, -1.09861229f}));
  // dim 0: columns [1, 1], [2, 1], [3, 1].
  const float e1 = 1 / (1 + std::exp(-1.0f)), e2 = 1 / (1 + std::exp(-2.0f));
  check_close(softmax(x, 0).value(), make({2, 3}, {0.5f, e1, e2, 0.5f, 1 - e1, 1 - e2}));
  check_close(softmax(x, -2).value(), softmax(x, 0).value());
}

TEST_CASE("softmax and log_softmax are stable for logits of +-1000") {
  const Variable x(make({1, 3}, {1000, 0, -1000}), true);
  check_close(softmax(x).value(), make({1, 3}, {1, 0, 0}));
  Variable l = log_softmax(x);
  check_close(l.value(), make({1, 3}, {0, -1000, -2000}));
  l.backward(make({1, 3}, {1, 2, 3}));
  check_close(x.grad(), make({1, 3}, {1 - 6, 2, 3}));  // g - softmax * sum(g)
  CHECK(all_finite(softmax(Variable(make({2}, {-1000, -1000}))).value()));
}

TEST_CASE("softmax and log_softmax match PyTorch (golden values)") {
  for (auto [p, dim, log] : {std::tuple{"log_softmax", 1, true}, std::tuple{"softmax", -1, false}}) {
    CAPTURE(p);
    const std::string s = p;
    Variable x(golden::tensor(s + ".x"), true);
    Variable y = log ? log_softmax(x, dim) : softmax(x, dim);
    check_close(y.value(), golden::tensor(s + ".y"), 1e-6, 1e-5);
    y.backward(golden::tensor(s + ".gy"));
    check_close(x.grad(), golden::tensor(s + ".gx"), 1e-6, 1e-5);
  }
}

TEST_CASE("softmax and log_softmax gradients pass the finite-difference check on every dim") {
  for (std::int64_t dim : {0, 1, 2, -1}) {
    for (bool log : {false, true}) {
      CAPTURE(dim);
      CAPTURE(log);
      auto fn = [dim, log](const std::vector<Variable>& v) { return log ? log_softmax(v[0], dim) : softmax(v[0], dim); };
      const GradcheckResult r = gradcheck(fn, {Variable(test::uniform({2, 3, 4}, -2, 2, 5), true)});
      CHECK_MESSAGE(r.ok, r.message);
    }
  }
}

// ------------------------------------------------------------------------- cross entropy

TEST_CASE("cross_entropy by hand, with and without label smoothing") {
  const Variable x(make({2, 3}, {1, 2, 3, 0, 0, 0}));
  const Labels y = labels_of({2, 0});
  // Row 0: -log p = {2.4076, 1.4076, 0.4076}; row 1: log 3 everywhere.
  const double r0 = 0.40760596, r1 = std::log(3.0);
  Variable none = cross_entropy(x, y, {.reduction = Reduction::None});
  check_close(none.value(), make({2}, {float(r0), float(r1)}));
  CHECK(cross_entropy(x, y).item() == doctest::Approx((r0 + r1) / 2));
  CHECK(cross_entropy(x, y, {.reduction = Reduction::Sum}).item() == doctest::Approx(r0 + r1));
  // label smoothing 0.1: 0.9 * nll + 0.1 * mean over classes of -log p.
  const double s0 = 0.9 * r0 + 0.1 * 1.40760596;
  CHECK(cross_entropy(x, y, {.reduction = Reduction::Sum, .label_smoothing = 0.1f}).item() ==
        doctest::Approx(s0 + r1));
  // The gradient is softmax - target distribution: row 1 gets 1/3 - (0.9 + 0.1/3) at its label.
  Variable l(x.value(), true);
  cross_entropy(l, y, {.reduction = Reduction::Sum, .label_smoothing = 0.1f}).backward();
  CHECK(l.grad()(1, 0) == doctest::Approx(1 / 3.0 - 0.9 - 0.1 / 3));
  CHECK(l.grad()(1, 1) == doctest::Approx(1 / 3.0 - 0.1 / 3));
}

TEST_CASE("cross_entropy and nll_loss match PyTorch (golden values)") {
  const Tensor lf = golden::tensor("labels5");
  Labels y = Labels::from_shape({lf.size()});
  for (std::size_t i = 0; i < lf.size(); ++i) y(i) = static_cast<std::int64_t>(lf(i));
  struct GoldenCase {
    const char* prefix;
    CrossEntropyOptions options;
  };
  for (const GoldenCase& c : {GoldenCase{"ce_mean_ls", {.label_smoothing = 0.1f}},
                              GoldenCase{"ce_sum_ls", {.reduction = Reduction::Sum, .label_smoothing = 0.25f}},
                              GoldenCase{"ce_none", {.reduction = Reduction::None}}, GoldenCase{"ce_mean", {}}}) {
    const std::string p = c.prefix;
    CAPTURE(p);
    Variable x(golden::tensor(p + ".x"), true);
    Variable loss = cross_entropy(x, y, c.options);
    check_close(loss.value(), golden::tensor(p + ".y"), 1e-6, 1e-5);
    loss.backward(golden::tensor(p + ".gy"));
    check_close(x.grad(), golden::tensor(p + ".gx"), 1e-6, 1e-5);
  }
  Variable lp(golden::tensor("nll.x"), true);
  Variable loss = nll_loss(lp, y);
  check_close(loss.value(), golden::tensor("nll.y"), 1e-6, 1e-5);
  loss.backward(golden::tensor("nll.gy"));
  check_close(lp.grad(), golden::tensor("nll.gx"), 1e-6, 1e-5);
}

TEST_CASE("cross_entropy gradients pass the finite-difference check (reductions, smoothing)") {
  const Labels y = labels_of({1, 0, 3, 3, 2});
  for (Reduction reduction : {Reduction::None, Reduction::Mean, Reduction::Sum})
    for (float ls : {0.0f, 0.1f, 1.0f}) {
      CAPTURE(int(reduction));
      CAPTURE(ls);
      auto fn = [&](const std::vector<Variable>& v) {
        return cross_entropy(v[0], y, {.reduction = reduction, .label_smoothing = ls});
      };
      const GradcheckResult r = gradcheck(fn, {Variable(test::uniform({5, 4}, -3, 3, 7), true)});
      CHECK_MESSAGE(r.ok, r.message);
    }
  auto nll = [&](const std::vector<Variable>& v) { return nll_loss(log_softmax(v[0]), y, Reduction::Sum); };
  const GradcheckResult r = gradcheck(nll, {Variable(test::uniform({5, 4}, -3, 3, 8), true)});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("cross_entropy with class-probability targets matches PyTorch, in both arguments") {
  struct GoldenCase {
    const char* prefix;
    CrossEntropyOptions options;
  };
  for (const GoldenCase& c : {GoldenCase{"ce_soft_mean", {}},
                              GoldenCase{"ce_soft_sum_ls", {.reduction = Reduction::Sum, .label_smoothing = 0.2f}},
                              GoldenCase{"ce_soft_none", {.reduction = Reduction::None, .label_smoothing = 0.1f}}}) {
    const std::string p = c.prefix;
    CAPTURE(p);
    Variable x(golden::tensor(p + ".x"), true), t(golden::tensor(p + ".t"), true);
    Variable loss = cross_entropy(x, t, c.options);
    check_close(loss.value(), golden::tensor(p + ".y"), 1e-6, 1e-5);
    loss.backward(golden::tensor(p + ".gy"));
    check_close(x.grad(), golden::tensor(p + ".gx"), 1e-6, 1e-5);
    check_close(t.grad(), golden::tensor(p + ".gt"), 1e-6, 1e-5);
  }
}

TEST_CASE("cross_entropy with one-hot probability targets equals it with class indices") {
  const Labels y = labels_of({1, 0, 3, 3, 2});
  Tensor one_hot = filled({5, 4}, 0.0f);
  for (std::size_t i = 0; i < 5; ++i) one_hot(i, static_cast<std::size_t>(y(i))) = 1.0f;
  Variable a(test::uniform({5, 4}, -3, 3, 9), true), b(a.value(), true);
  Variable by_index = cross_entropy(a, y, {.label_smoothing = 0.1f});
  Variable by_probs = cross_entropy(b, Variable(one_hot), {.label_smoothing = 0.1f});
  CHECK(by_probs.item() == doctest::Approx(by_index.item()).epsilon(1e-6));
  by_index.backward(), by_probs.backward();
  check_close(b.grad(), a.grad(), 1e-7, 1e-6);
}

TEST_CASE("cross_entropy with probability targets passes the finite-difference check") {
  for (Reduction reduction : {Reduction::None, Reduction::Mean, Reduction::Sum})
    for (float ls : {0.0f, 0.3f}) {
      CAPTURE(int(reduction));
      CAPTURE(ls);
      auto fn = [&](const std::vector<Variable>& v) {
        return cross_entropy(v[0], v[1], {.reduction = reduction, .label_smoothing = ls});
      };
      const GradcheckResult r = gradcheck(fn, {Variable(test::uniform({3, 4}, -3, 3, 11), true),
                                               Variable(test::uniform({3, 4}, 0, 1, 12), true)});
      CHECK_MESSAGE(r.ok, r.message);
    }
}

TEST_CASE("cross_entropy with probability targets: a wrong target shape is a tg::Error") {
  Variable x(filled({4, 10}, 0.0f), true);
  CHECK_THROWS_WITH_AS(cross_entropy(x, Variable(filled({4, 9}, 0.1f))),
                       "cross_entropy: expected probability targets of the logits' shape [4, 10], got [4, 9] "
                       "(class indices are passed as tg::Labels)",
                       tg::Error);
  CHECK_THROWS_WITH_AS(cross_entropy(Variable(filled({10}, 0.0f)), Variable(filled({10}, 0.1f))),
                       doctest::Contains("expected logits [N, C] with probability targets, got [10]"), tg::Error);
}

TEST_CASE("cross_entropy is stable for logits of +-1000 and equals log_softmax + nll_loss") {
  Variable x(make({2, 2}, {1000, -1000, -1000, 1000}), true);
  const Labels y = labels_of({1, 1});
  Variable loss = cross_entropy(x, y, {.reduction = Reduction::None});
  check_close(loss.value(), make({2}, {2000, 0}));
  loss.backward(make({2}, {1, 1}));
  check_close(x.grad(), make({2, 2}, {1, -1, 0, 0}));
  const Variable z(test::uniform({4, 6}, -5, 5, 9));
  const Labels t = labels_of({5, 0, 2, 2});
  CHECK(cross_entropy(z, t).item() == doctest::Approx(nll_loss(log_softmax(z), t).item()));
}

TEST_CASE("cross_entropy and nll_loss: bad labels and logits give tg::Error") {
  const Variable x(filled({4, 10}, 0.0f));
  CHECK_THROWS_WITH_AS(cross_entropy(x, labels_of({1, 2, 3, 12})),
                       "cross_entropy: expected labels in [0, 10) for C = 10 classes, got label 12 at index 3",
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, labels_of({-1, 2, 3, 4})), doctest::Contains("got label -1 at index 0"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, labels_of({1, 2, 3})),
                       doctest::Contains("cross_entropy: expected labels [4] (one per row of input [4, 10]), got [3]"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy(Variable(filled({10}, 0.0f)), labels_of({1})),
                       "cross_entropy: expected input [N, C], got [10]", Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, labels_of({1, 2, 3, 4}), {.label_smoothing = 1.5f}),
                       doctest::Contains("cross_entropy: expected label_smoothing in [0, 1], got 1.5"), Error);
  CHECK_THROWS_WITH_AS(nll_loss(x, labels_of({1, 2, 3, 10})), doctest::Contains("nll_loss: expected labels in [0, 10)"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy(Variable(filled({0, 10}, 0.0f)), labels_of({})),
                       doctest::Contains("cross_entropy: expected at least one element for reduction mean"), Error);
  Tensor bad = filled({4, 10}, 0.0f);
  bad(2, 7) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(cross_entropy(Variable(bad), labels_of({1, 2, 3, 4}), {.check_finite = true}),
                       doctest::Contains("cross_entropy: expected finite logits, got nan at [2, 7]"), Error);
  bad(2, 7) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_AS(cross_entropy(Variable(bad), labels_of({1, 2, 3, 4}), {.check_finite = true}), Error);
  CHECK_NOTHROW(cross_entropy(Variable(bad), labels_of({1, 2, 3, 4})));  // unchecked: like PyTorch
  CHECK_THROWS_WITH_AS(softmax(x, 2), "softmax: expected dim in [-2, 1], got 2 for input [4, 10]", Error);
  CHECK_THROWS_WITH_AS(log_softmax(x, -3), doctest::Contains("log_softmax: expected dim in [-2, 1]"), Error);
}

// ----------------------------------------------------------------------- mse, bce with logits

TEST_CASE("mse_loss by hand and against PyTorch, gradients to input and target") {
  const Variable a(make({2, 2}, {1, 2, 3, 4}), true), b(make({2, 2}, {1, 0, 0, 8}), true);
  CHECK(mse_loss(a, b).item() == doctest::Approx((0 + 4 + 9 + 16) / 4.0));
  CHECK(mse_loss(a, b, Reduction::Sum).item() == doctest::Approx(29));
  check_close(mse_loss(a, b, Reduction::None).value(), make({2, 2}, {0, 4, 9, 16}));
  mse_loss(a, b).backward();
  check_close(a.grad(), make({2, 2}, {0, 1, 1.5f, -2}));
  check_close(b.grad(), make({2, 2}, {0, -1, -1.5f, 2}));
  Variable x(golden::tensor("mse.x"), true), t(golden::tensor("mse.t"), true);
  Variable loss = mse_loss(x, t, Reduction::Sum);
  check_close(loss.value(), golden::tensor("mse.y"), 1e-6, 1e-5);
  loss.backward(golden::tensor("mse.gy"));
  check_close(x.grad(), golden::tensor("mse.gx"), 1e-6, 1e-5);
  check_close(t.grad(), golden::tensor("mse.gt"), 1e-6, 1e-5);
}

TEST_CASE("binary_cross_entropy_with_logits is stable for +-100 and matches PyTorch") {
  const Variable x(make({4}, {0, 100, -100, 100}), true), t(make({4}, {1, 0, 1, 1}));
  Variable l = binary_cross_entropy_with_logits(x, t, Reduction::None);
  check_close(l.value(), make({4}, {float(std::log(2.0)), 100, 100, 0}));
  l.backward(filled({4}, 1.0f));
  check_close(x.grad(), make({4}, {-0.5f, 1, -1, 0}));
  Variable gx(golden::tensor("bce.x"), true), gt(golden::tensor("bce.t"), true);
  Variable loss = binary_cross_entropy_with_logits(gx, gt);
  check_close(loss.value(), golden::tensor("bce.y"), 1e-6, 1e-5);
  loss.backward(golden::tensor("bce.gy"));
  check_close(gx.grad(), golden::tensor("bce.gx"), 1e-6, 1e-5);
  check_close(gt.grad(), golden::tensor("bce.gt"), 1e-6, 1e-5);
}

TEST_CASE("mse_loss and binary_cross_entropy_with_logits pass the finite-difference check") {
  for (Reduction reduction : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    CAPTURE(int(reduction));
    const std::vector<Variable> inputs = {Variable(test::uniform({3, 4}, -3, 3, 1), true),
                                          Variable(test::uniform({3, 4}, 0, 1, 2), true)};
    auto mse = [reduction](const std::vector<Variable>& v) { return mse_loss(v[0], v[1], reduction); };
    auto bce = [reduction](const std::vector<Variable>& v) {
      return binary_cross_entropy_with_logits(v[0], v[1], reduction);
    };
    GradcheckResult r = gradcheck(mse, inputs);
    CHECK_MESSAGE(r.ok, r.message);
    r = gradcheck(bce, inputs);
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("mse_loss and binary_cross_entropy_with_logits: mismatched shapes give tg::Error") {
  const Variable a(filled({2, 3}, 0.0f)), b(filled({3, 2}, 0.0f));
  CHECK_THROWS_WITH_AS(mse_loss(a, b), "mse_loss: expected target of the input's shape [2, 3], got [3, 2]", Error);
  CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(a, b),
                       doctest::Contains("binary_cross_entropy_with_logits: expected target of the input's shape"),
                       Error);
  CHECK_THROWS_WITH_AS(mse_loss(Variable(filled({0}, 0.0f)), Variable(filled({0}, 0.0f))),
                       doctest::Contains("mse_loss: expected at least one element for reduction mean"), Error);
}

}  // namespace
