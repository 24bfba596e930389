#pragma once
// Shared by the optim tests: gradients set from literals, and the driver of the golden cases
// (tests/optim/golden, numbers from PyTorch) for every optimizer.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "golden/golden.hpp"
#include <tapegrad/optim/optim.hpp>
#include "test_util.hpp"

namespace tg::test {

using namespace tg::optim;

/// Makes `g` the gradient of `p` (replacing any), through the engine as backward would.
inline void set_grad(Variable p, const Tensor& g) {
  p.zero_grad();
  p.backward(g);
}

/// Values [begin, end) of `values` as a tensor of `shape`.
inline Tensor slice(const std::vector<float>& values, std::size_t begin, const Shape& shape) {
  Tensor t = empty_tensor(shape);
  REQUIRE(begin + t.size() <= values.size());
  std::copy(values.begin() + begin, values.begin() + begin + t.size(), t.data());
  return t;
}

template <class Opt, class Options>
std::unique_ptr<Optimizer> build_golden(const golden::OptimGolden& c, Options o, Variable p0,
                                        Variable p1) {
  if (c.use_defaults) o = Options{};
  if (std::isnan(c.group0_lr)) return std::make_unique<Opt>(std::vector<Variable>{p0, p1}, o);
  std::vector<typename Opt::Group> groups{{{p0}, {.lr = c.group0_lr}}, {{p1}}};
  return std::make_unique<Opt>(std::move(groups), o);
}

/// The optimizer a golden case describes, over p0 and p1.
inline std::unique_ptr<Optimizer> make_golden_optimizer(const golden::OptimGolden& c, Variable p0,
                                                        Variable p1) {
  const std::string kind = c.optimizer;
  if (kind == "SGD")
    return build_golden<SGD>(c, SGDOptions{c.lr, c.momentum, c.dampening, c.weight_decay,
                                           c.nesterov, c.maximize}, p0, p1);
  if (kind == "Adam")
    return build_golden<Adam>(c, AdamOptions{c.lr, {c.beta1, c.beta2}, c.eps, c.weight_decay,
                                             c.amsgrad, c.maximize}, p0, p1);
  if (kind == "AdamW")
    return build_golden<AdamW>(c, AdamWOptions{c.lr, {c.beta1, c.beta2}, c.eps, c.weight_decay,
                                               c.amsgrad, c.maximize}, p0, p1);
  REQUIRE(kind == "RMSprop");
  return build_golden<RMSprop>(c, RMSpropOptions{c.lr, c.alpha, c.eps, c.weight_decay,
                                                 c.momentum, c.centered, c.maximize}, p0, p1);
}

/// Runs a golden case and checks both parameters after every step against PyTorch's values.
/// Returns the largest relative deviation seen.
inline double check_golden_case(const golden::OptimGolden& c, double rtol = 2e-6, double atol = 1e-7) {
  using optim::OneCycleLR;
  Variable p0(slice(c.init, 0, {3, 4}), true), p1(slice(c.init, 12, {5}), true);
  auto opt = make_golden_optimizer(c, p0, p1);
  std::unique_ptr<OneCycleLR> schedule;
  if (!std::isnan(c.onecycle_max_lr))
    schedule = std::make_unique<OneCycleLR>(*opt, c.onecycle_max_lr, c.grads.size());
  double worst = 0;
  for (std::size_t step = 0; step < c.grads.size(); ++step) {
    opt->zero_grad();
    set_grad(p0, slice(c.grads[step], 0, {3, 4}));
    if (static_cast<int>(step) != c.missing_grad_step) set_grad(p1, slice(c.grads[step], 12, {5}));
    opt->step();
    if (schedule) schedule->step();
    const Tensor expected0 = slice(c.params[step], 0, {3, 4}), expected1 = slice(c.params[step], 12, {5});
    INFO(c.name, " step ", step);
    check_close(p0.value(), expected0, atol, rtol);
    check_close(p1.value(), expected1, atol, rtol);
    for (std::size_t i = 0; i < 17; ++i) {
      const double actual = i < 12 ? p0.value().data()[i] : p1.value().data()[i - 12];
      const double expected = c.params[step][i];
      worst = std::max(worst, std::fabs(actual - expected) / std::max(std::fabs(expected), 1e-3));
    }
  }
  return worst;
}

/// Runs every golden case of one optimizer type (at least `min_cases` of them).
inline void check_golden_cases(const std::string& optimizer, std::size_t min_cases) {
  std::size_t count = 0;
  for (const auto& c : golden::kOptimGolden) {
    if (optimizer != c.optimizer) continue;
    ++count;
    const double worst = check_golden_case(c);
    MESSAGE(std::string(c.name), ": largest relative deviation from PyTorch ", worst);
  }
  CHECK(count >= min_cases);
}

}  // namespace tg::test
