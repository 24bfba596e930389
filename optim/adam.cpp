#include "tapegrad/optim/adam.hpp"

#include <algorithm>
#include <cmath>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/optim/update_loop.hpp"

namespace tg::optim {
namespace {

template <class O>
void check_adam(const O& o, const char* optimizer) {
  // Finite as well: `>= 0` alone lets inf in (from a checkpoint, say).
  detail::check_nonnegative(optimizer, "lr", o.lr);
  TG_CHECK(std::isfinite(o.eps) && o.eps > 0, optimizer, ": expected eps > 0 and finite, got ",
           o.eps);
  detail::check_range(optimizer, "betas.first", o.betas.first, 0, 1, true);
  detail::check_range(optimizer, "betas.second", o.betas.second, 0, 1, true);
  detail::check_nonnegative(optimizer, "weight_decay", o.weight_decay);
}

template <class O>
O merge_adam(O o, const AdamGroupOptions& g) {
  if (g.lr) o.lr = *g.lr;
  if (g.betas) o.betas = *g.betas;
  if (g.eps) o.eps = *g.eps;
  if (g.weight_decay) o.weight_decay = *g.weight_decay;
  if (g.amsgrad) o.amsgrad = *g.amsgrad;
  if (g.maximize) o.maximize = *g.maximize;
  return o;
}

template <class O>
void visit_adam(O& o, OptionVisitor& visit) {
  visit("lr", o.lr);
  visit("beta1", o.betas.first);
  visit("beta2", o.betas.second);
  visit("eps", o.eps);
  visit("weight_decay", o.weight_decay);
  visit("amsgrad", o.amsgrad);
  visit("maximize", o.maximize);
}

std::optional<Tensor> zeros_like(const Tensor& t) {
  Tensor z = empty_tensor(t.shape());
  std::fill(z.begin(), z.end(), 0.0f);
  return z;
}

struct AdamCoefficients {
  float b1, b2, one_b1, one_b2, eps, wd, keep, neg_step, bc2_sqrt;
};

// p = p * keep (AdamW) then the Adam step; the pointers never alias.
// The flags are std::true_type / std::false_type (see detail::with_flags).
template <class Maximize, class Decoupled, class L2, class Amsgrad>
void adam_kernel(Maximize, Decoupled, L2, Amsgrad, float* __restrict p, const float* __restrict g,
                 float* __restrict m, float* __restrict v, float* __restrict vmax,
                 std::size_t begin, std::size_t end, AdamCoefficients c) {
  for (std::size_t j = begin; j < end; ++j) {
    float gj = Maximize::value ? -g[j] : g[j];
    if constexpr (Decoupled::value) p[j] = p[j] * c.keep;
    if constexpr (L2::value) gj = gj + c.wd * p[j];
    m[j] = m[j] * c.b1 + c.one_b1 * gj;
    v[j] = v[j] * c.b2 + c.one_b2 * gj * gj;
    float second = v[j];
    if constexpr (Amsgrad::value) second = vmax[j] = std::max(vmax[j], second);
    const float denom = std::sqrt(second) / c.bc2_sqrt + c.eps;
    p[j] = p[j] + c.neg_step * m[j] / denom;
  }
}

// One Adam or AdamW update; `decoupled` selects AdamW's weight decay.
template <class O>
void adam_update(const O& o, bool decoupled, Tensor& value, const Tensor& grad, ParamState& state) {
  auto& slots = state.buffers;
  if (!slots[0]) slots[0] = zeros_like(value);
  if (!slots[1]) slots[1] = zeros_like(value);
  if (o.amsgrad && !slots[2]) slots[2] = zeros_like(value);
  // Scalars in double as PyTorch computes them in Python, then rounded to float once.
  const double t = static_cast<double>(state.step);
  const double bias_correction1 = 1 - std::pow(o.betas.first, t);
  const double bias_correction2 = 1 - std::pow(o.betas.second, t);
  const AdamCoefficients c{static_cast<float>(o.betas.first), static_cast<float>(o.betas.second),
                           static_cast<float>(1 - o.betas.first), static_cast<float>(1 - o.betas.second),
                           static_cast<float>(o.eps), static_cast<float>(o.weight_decay),
                           static_cast<float>(1 - o.lr * o.weight_decay),
                           static_cast<float>(-(o.lr / bias_correction1)),
                           static_cast<float>(std::sqrt(bias_correction2))};
  float* p = value.data();
  const float* g = grad.data();
  float* m = slots[0]->data();
  float* v = slots[1]->data();
  float* vmax = o.amsgrad ? slots[2]->data() : nullptr;
  detail::with_flags(
      [&](auto maximize, auto decoupled_decay, auto l2, auto amsgrad) {
        detail::for_each_chunk(value.size(), [&](std::size_t begin, std::size_t end) {
          adam_kernel(maximize, decoupled_decay, l2, amsgrad, p, g, m, v, vmax, begin, end, c);
        });
      },
      o.maximize, decoupled, !decoupled && o.weight_decay != 0, o.amsgrad);
}

const std::vector<std::string> kAdamBuffers = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};

}  // namespace

void check_options(const AdamOptions& o, const char* optimizer) { check_adam(o, optimizer); }
void check_options(const AdamWOptions& o, const char* optimizer) { check_adam(o, optimizer); }
AdamOptions merge_options(AdamOptions o, const AdamGroupOptions& g) { return merge_adam(o, g); }
AdamWOptions merge_options(AdamWOptions o, const AdamGroupOptions& g) { return merge_adam(o, g); }
void for_each_option(AdamOptions& o, OptionVisitor& visit) { visit_adam(o, visit); }
void for_each_option(AdamWOptions& o, OptionVisitor& visit) { visit_adam(o, visit); }

Adam::Adam(std::vector<Variable> params, AdamOptions options)
    : Adam(std::vector<Group>{Group{std::move(params)}}, options) {}
Adam::Adam(std::vector<Group> groups, AdamOptions defaults)
    : BasicOptimizer("Adam", std::move(groups), defaults) {}
std::vector<std::string> Adam::buffer_names() const { return kAdamBuffers; }
void Adam::update_param(const AdamOptions& o, Tensor& value, const Tensor& grad, ParamState& state) {
  adam_update(o, false, value, grad, state);
}

AdamW::AdamW(std::vector<Variable> params, AdamWOptions options)
    : AdamW(std::vector<Group>{Group{std::move(params)}}, options) {}
AdamW::AdamW(std::vector<Group> groups, AdamWOptions defaults)
    : BasicOptimizer("AdamW", std::move(groups), defaults) {}
std::vector<std::string> AdamW::buffer_names() const { return kAdamBuffers; }
void AdamW::update_param(const AdamWOptions& o, Tensor& value, const Tensor& grad, ParamState& state) {
  adam_update(o, true, value, grad, state);
}

}  // namespace tg::optim
