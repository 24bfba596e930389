#include "tapegrad/autograd/gradcheck.hpp"

#include <cmath>
#include <ostream>
#include <sstream>

#include "tapegrad/autograd/error.hpp"
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

std::ostream& operator<<(std::ostream& out, const GradcheckResult& r) {
  return out << "gradcheck " << (r.ok ? "passed" : "FAILED") << ": worst at input " << r.input
             << " element " << r.element << ": analytic " << r.analytic << ", numeric "
             << r.numeric << " (excess error " << r.worst_error << ")";
}

}  // namespace tg
