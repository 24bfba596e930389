#include "optim/rmsprop.hpp"

#include <algorithm>
#include <cmath>

#include "autograd/error.hpp"
#include "optim/update_loop.hpp"

namespace tg::optim {

void check_options(const RMSpropOptions& o, const char* optimizer) {
  TG_CHECK(o.lr >= 0, optimizer, ": expected lr >= 0, got ", o.lr);
  TG_CHECK(o.eps >= 0, optimizer, ": expected eps >= 0, got ", o.eps);
  TG_CHECK(o.momentum >= 0, optimizer, ": expected momentum >= 0, got ", o.momentum);
  TG_CHECK(o.weight_decay >= 0, optimizer, ": expected weight_decay >= 0, got ", o.weight_decay);
  TG_CHECK(o.alpha >= 0, optimizer, ": expected alpha >= 0, got ", o.alpha);
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
  slot = empty(like.shape());
  std::fill(slot->begin(), slot->end(), 0.0f);
}
}  // namespace

void RMSprop::update_param(const RMSpropOptions& o, Tensor& value, const Tensor& grad,
                           ParamState& state) {
  const bool use_momentum = o.momentum > 0, centered = o.centered, maximize = o.maximize;
  ensure_zeros(state.buffers[0], value);
  if (use_momentum) ensure_zeros(state.buffers[1], value);
  if (centered) ensure_zeros(state.buffers[2], value);
  float* p = value.data();
  const float* g = grad.data();
  float* square_avg = state.buffers[0]->data();
  float* buf = use_momentum ? state.buffers[1]->data() : nullptr;
  float* grad_avg = centered ? state.buffers[2]->data() : nullptr;
  const float alpha = static_cast<float>(o.alpha), one_alpha = static_cast<float>(1 - o.alpha);
  const float eps = static_cast<float>(o.eps), wd = static_cast<float>(o.weight_decay);
  const float mom = static_cast<float>(o.momentum), neg_lr = static_cast<float>(-o.lr);
  const bool decay = o.weight_decay != 0;
  detail::for_each_chunk(value.size(), [=](std::size_t begin, std::size_t end) {
    for (std::size_t j = begin; j < end; ++j) {
      float gj = maximize ? -g[j] : g[j];
      if (decay) gj = gj + wd * p[j];
      square_avg[j] = square_avg[j] * alpha + one_alpha * gj * gj;
      float variance = square_avg[j];
      if (centered) {
        grad_avg[j] = grad_avg[j] * alpha + one_alpha * gj;
        // v - a^2 >= 0 in exact arithmetic; rounding can dip below 0, where PyTorch gets NaN.
        variance = std::max(variance - grad_avg[j] * grad_avg[j], 0.0f);
      }
      const float denom = std::sqrt(variance) + eps;
      if (use_momentum) {
        buf[j] = buf[j] * mom + gj / denom;
        p[j] = p[j] + neg_lr * buf[j];
      } else {
        p[j] = p[j] + neg_lr * gj / denom;
      }
    }
  });
}

}  // namespace tg::optim
