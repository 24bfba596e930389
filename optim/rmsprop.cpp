#include "tapegrad/optim/rmsprop.hpp"

#include <algorithm>
#include <cmath>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/optim/update_loop.hpp"

namespace tg::optim {

void check_options(const RMSpropOptions& o, const char* optimizer) {
  // Finite as well: `>= 0` alone lets inf in (from a checkpoint, say).
  detail::check_nonnegative(optimizer, "lr", o.lr);
  TG_CHECK(std::isfinite(o.eps) && o.eps > 0, optimizer, ": expected eps > 0 and finite, got ",
           o.eps);
  detail::check_range(optimizer, "momentum", o.momentum, 0, 1);
  detail::check_nonnegative(optimizer, "weight_decay", o.weight_decay);
  detail::check_range(optimizer, "alpha", o.alpha, 0, 1);
}

RMSpropOptions merge_options(RMSpropOptions o, const RMSpropGroupOptions& g) {
  if (g.lr) o.lr = *g.lr;
  if (g.alpha) o.alpha = *g.alpha;
  if (g.eps) o.eps = *g.eps;
  if (g.weight_decay) o.weight_decay = *g.weight_decay;
  if (g.momentum) o.momentum = *g.momentum;
  if (g.centered) o.centered = *g.centered;
  if (g.maximize) o.maximize = *g.maximize;
  return o;
}

void for_each_option(RMSpropOptions& o, OptionVisitor& visit) {
  visit("lr", o.lr);
  visit("alpha", o.alpha);
  visit("eps", o.eps);
  visit("weight_decay", o.weight_decay);
  visit("momentum", o.momentum);
  visit("centered", o.centered);
  visit("maximize", o.maximize);
}

RMSprop::RMSprop(std::vector<Variable> params, RMSpropOptions options)
    : RMSprop(std::vector<Group>{Group{std::move(params)}}, options) {}

RMSprop::RMSprop(std::vector<Group> groups, RMSpropOptions defaults)
    : BasicOptimizer("RMSprop", std::move(groups), defaults) {}

std::vector<std::string> RMSprop::buffer_names() const {
  return {"square_avg", "momentum_buffer", "grad_avg"};
}

namespace {
void ensure_zeros(std::optional<Tensor>& slot, const Tensor& like) {
  if (slot) return;
  slot = empty_tensor(like.shape());
  std::fill(slot->begin(), slot->end(), 0.0f);
}
}  // namespace

namespace {

struct RmsCoefficients {
  float alpha, one_alpha, eps, wd, mom, neg_lr;
};

// The pointers never alias: __restrict lets the loop vectorise.
// The flags are std::true_type / std::false_type (see detail::with_flags).
template <class Maximize, class Decay, class Centered, class Momentum>
void rmsprop_kernel(Maximize, Decay, Centered, Momentum, float* __restrict p,
                    const float* __restrict g, float* __restrict square_avg, float* __restrict buf,
                    float* __restrict grad_avg, std::size_t begin, std::size_t end,
                    RmsCoefficients c) {
  for (std::size_t j = begin; j < end; ++j) {
    float gj = Maximize::value ? -g[j] : g[j];
    if constexpr (Decay::value) gj = gj + c.wd * p[j];
    square_avg[j] = square_avg[j] * c.alpha + c.one_alpha * gj * gj;
    float variance = square_avg[j];
    if constexpr (Centered::value) {
      grad_avg[j] = grad_avg[j] * c.alpha + c.one_alpha * gj;
      // v - a^2 >= 0 in exact arithmetic; rounding can dip below 0, where PyTorch gets NaN.
      variance = std::max(variance - grad_avg[j] * grad_avg[j], 0.0f);
    }
    const float denom = std::sqrt(variance) + c.eps;
    if constexpr (Momentum::value) {
      buf[j] = buf[j] * c.mom + gj / denom;
      p[j] = p[j] + c.neg_lr * buf[j];
    } else {
      p[j] = p[j] + c.neg_lr * gj / denom;
    }
  }
}

}  // namespace

void RMSprop::update_param(const RMSpropOptions& o, Tensor& value, const Tensor& grad,
                           ParamState& state) {
  const bool use_momentum = o.momentum > 0;
  ensure_zeros(state.buffers[0], value);
  if (use_momentum) ensure_zeros(state.buffers[1], value);
  if (o.centered) ensure_zeros(state.buffers[2], value);
  float* p = value.data();
  const float* g = grad.data();
  float* square_avg = state.buffers[0]->data();
  float* buf = use_momentum ? state.buffers[1]->data() : nullptr;
  float* grad_avg = o.centered ? state.buffers[2]->data() : nullptr;
  const RmsCoefficients c{static_cast<float>(o.alpha), static_cast<float>(1 - o.alpha),
                          static_cast<float>(o.eps), static_cast<float>(o.weight_decay),
                          static_cast<float>(o.momentum), static_cast<float>(-o.lr)};
  detail::with_flags(
      [&](auto maximize, auto decay, auto centered, auto momentum) {
        detail::for_each_chunk(value.size(), [&](std::size_t begin, std::size_t end) {
          rmsprop_kernel(maximize, decay, centered, momentum, p, g, square_avg, buf,
                         grad_avg, begin, end, c);
        });
      },
      o.maximize, o.weight_decay != 0, o.centered, use_momentum);
}

}  // namespace tg::optim
