#include "tapegrad/optim/clip_grad.hpp"

#include <algorithm>
#include <cmath>

#include "tapegrad/autograd/error.hpp"

namespace tg::optim {
namespace {

// The norm of all gradients as one vector, accumulated in double.
double total_norm(const std::vector<Variable>& params, double norm_type) {
  const bool inf = std::isinf(norm_type);
  double acc = 0.0;
  for (const auto& p : params) {
    if (!p.has_grad()) continue;
    const Tensor& g = p.grad();
    const float* d = g.data();
    for (std::size_t i = 0; i < g.size(); ++i) {
      const double a = std::fabs(static_cast<double>(d[i]));
      if (inf) acc = std::isnan(a) || std::isnan(acc) ? NAN : std::max(acc, a);
      else if (norm_type == 2.0) acc += a * a;
      else if (norm_type == 1.0) acc += a;
      else acc += std::pow(a, norm_type);
    }
  }
  if (inf || norm_type == 1.0) return acc;
  return norm_type == 2.0 ? std::sqrt(acc) : std::pow(acc, 1.0 / norm_type);
}

}  // namespace

double clip_grad_norm_(const std::vector<Variable>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  TG_CHECK(norm_type > 0, "clip_grad_norm_: expected norm_type > 0 or infinity, got ", norm_type);
  TG_CHECK(!std::isnan(max_norm), "clip_grad_norm_: expected a number for max_norm, got nan");
  // PyTorch computes the norm in the gradients' dtype: round it to float like it does.
  const float total = static_cast<float>(total_norm(params, norm_type));
  TG_CHECK(!error_if_nonfinite || std::isfinite(total), "clip_grad_norm_: expected a finite total "
           "norm of order ", norm_type, " of the gradients, got ", total,
           " (pass error_if_nonfinite = false to clip anyway)");
  const float coef = static_cast<float>(max_norm) / (total + 1e-6f);
  if (coef < 1.0f) {
    for (Variable p : params)  // a handle copy: gradients are the parameters' own
      if (p.has_grad())
        for (float& x : p.grad()) x *= coef;
  }
  return total;
}

void clip_grad_value_(const std::vector<Variable>& params, double clip_value) {
  TG_CHECK(clip_value >= 0, "clip_grad_value_: expected clip_value >= 0, got ", clip_value);
  const float hi = static_cast<float>(clip_value);
  for (Variable p : params)
    if (p.has_grad())
      for (float& x : p.grad()) x = std::clamp(x, -hi, hi);
}

}  // namespace tg::optim
