#include "tapegrad/autograd/gradcheck.hpp"

#include <cmath>
#include <optional>
#include <ostream>
#include <sstream>

#include "tapegrad/autograd/elementwise.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/grad.hpp"
#include "tapegrad/autograd/reduce.hpp"
#include "tapegrad/autograd/shape_ops.hpp"
#include "tapegrad/autograd/random.hpp"

namespace tg {

namespace {

// sum(w * f(inputs)) in double: the scalar whose gradient is compared.
double weighted_sum(const Tensor& out, const Tensor& w) {
  double total = 0.0;
  for (std::size_t i = 0; i < out.size(); ++i) total += double(w.data()[i]) * out.data()[i];
  return total;
}

double numeric_derivative(const std::function<Variable(const std::vector<Variable>&)>& fn,
                          const std::vector<Variable>& inputs, Variable x, std::size_t e,
                          const Tensor& w, double eps) {
  NoGradGuard no_grad;
  float& v = x.value().data()[e];
  const float saved = v;
  v = float(saved + eps);
  const double plus = weighted_sum(fn(inputs).value(), w);
  v = float(saved - eps);
  const double minus = weighted_sum(fn(inputs).value(), w);
  // The step actually taken in float, not the one asked for.
  const double step = double(float(saved + eps)) - double(float(saved - eps));
  v = saved;
  return (plus - minus) / step;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Variable(const std::vector<Variable>&)>& fn,
                          const std::vector<Variable>& inputs, GradcheckOptions options) {
  Variable out = fn(inputs);
  Generator gen(options.seed);
  Tensor w = empty_tensor(out.shape());
  for (float& v : w) v = gen.uniform(-1.0f, 1.0f);
  for (Variable x : inputs) x.zero_grad();
  TG_CHECK(out.requires_grad(), "gradcheck: expected an output that requires grad, got one "
                                "that does not; mark an input with requires_grad");
  out.backward(w);

  GradcheckResult r;
  r.worst_error = -1e300;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    Variable x = inputs[k];
    if (!x.requires_grad()) continue;
    for (std::size_t e = 0; e < x.numel(); ++e) {
      const double analytic = x.has_grad() ? x.grad().data()[e] : 0.0;
      const double numeric = numeric_derivative(fn, inputs, x, e, w, options.eps);
      const double error = std::fabs(analytic - numeric) - options.rtol * std::fabs(numeric);
      if (error > r.worst_error) {
        r.worst_error = error;
        r.input = k;
        r.element = e;
        r.analytic = analytic;
        r.numeric = numeric;
      }
    }
  }
  r.ok = r.worst_error <= options.atol;
  std::ostringstream msg;
  msg << r;
  r.message = msg.str();
  return r;
}

GradcheckResult gradgradcheck(const std::function<Variable(const std::vector<Variable>&)>& fn,
                              const std::vector<Variable>& inputs, GradcheckOptions options) {
  Generator gen(options.seed + 1);
  std::optional<Tensor> w;  // fixed output weights: the function checked must not change between calls
  // x -> the gradients of sum(w * fn(x)) with respect to the inputs, computed with
  // create_graph and flattened into one vector: gradcheck differentiates them again.
  auto first_gradients = [&](const std::vector<Variable>& xs) -> Variable {
    AutoGradMode record(true);  // gradcheck's finite differences run under NoGradGuard
    Variable y = fn(xs);
    if (!w) {
      w = empty_tensor(y.shape());
      for (float& v : *w) v = gen.uniform(-1.0f, 1.0f);
    }
    std::vector<Variable> wrt;
    for (const Variable& x : xs)
      if (x.requires_grad()) wrt.push_back(x);
    TG_CHECK(!wrt.empty(), "gradgradcheck: expected an input that requires grad, got none");
    TG_CHECK(y.requires_grad(), "gradgradcheck: expected an output that requires grad, got one "
                                "that does not");
    std::vector<Variable> gs = autograd::grad({sum(y * Variable(*w))}, wrt, {}, true, true, true);
    std::vector<Variable> flat;
    for (std::size_t k = 0; k < gs.size(); ++k)
      flat.push_back(reshape(gs[k].defined() ? gs[k] : Variable(filled(wrt[k].shape(), 0.0f)), {-1}));
    return cat(flat, 0);
  };
  // The gradient graph comes from the ops' double-backward rules, the first-order gradient from
  // their first-order rules: the two must agree before the second derivatives mean anything.
  GradcheckResult agree;
  {
    Variable first = first_gradients(inputs);
    std::vector<Variable> wrt;
    for (const Variable& x : inputs)
      if (x.requires_grad()) wrt.push_back(x);
    std::vector<Variable> plain = autograd::grad({sum(fn(inputs) * Variable(*w))}, wrt, {}, false, false, true);
    std::size_t at = 0;
    agree.worst_error = -1e300;
    for (std::size_t k = 0; k < wrt.size(); ++k)
      for (std::size_t e = 0; e < wrt[k].numel(); ++e, ++at) {
        const double graph = first.value().data()[at];
        const double rule = plain[k].defined() ? plain[k].value().data()[e] : 0.0;
        const double error = std::fabs(graph - rule) - options.rtol * std::fabs(rule);
        if (error > agree.worst_error) agree = {error > options.atol ? false : true, error, k, e, graph, rule, ""};
      }
    agree.ok = agree.worst_error <= options.atol;
  }
  if (!agree.ok) {
    std::ostringstream msg;
    msg << "gradgradcheck FAILED: the double-backward rules' gradient differs from the first-order "
           "rules' at input " << agree.input << " element " << agree.element << ": " << agree.analytic
        << " against " << agree.numeric;
    agree.message = msg.str();
    return agree;
  }
  return gradcheck(first_gradients, inputs, options);
}

std::ostream& operator<<(std::ostream& out, const GradcheckResult& r) {
  return out << "gradcheck " << (r.ok ? "passed" : "FAILED") << ": worst at input " << r.input
             << " element " << r.element << ": analytic " << r.analytic << ", numeric "
             << r.numeric << " (excess error " << r.worst_error << ")";
}

}  // namespace tg
