#include "tapegrad/optim/sgd.hpp"

#include <cmath>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/optim/update_loop.hpp"

namespace tg::optim {

void check_options(const SGDOptions& o, const char* optimizer) {
  // Finite as well: `>= 0` alone lets inf in (from a checkpoint, say), and training on it
  // turns every parameter into NaN.
  detail::check_nonnegative(optimizer, "lr", o.lr);
  detail::check_range(optimizer, "momentum", o.momentum, 0, 1);
  detail::check_nonnegative(optimizer, "weight_decay", o.weight_decay);
  TG_CHECK(std::isfinite(o.dampening), optimizer, ": expected a finite dampening, got ",
           o.dampening);
  TG_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), optimizer,
           ": expected momentum > 0 and dampening = 0 for Nesterov momentum, got momentum ",
           o.momentum, " and dampening ", o.dampening);
}

SGDOptions merge_options(SGDOptions o, const SGDGroupOptions& g) {
  if (g.lr) o.lr = *g.lr;
  if (g.momentum) o.momentum = *g.momentum;
  if (g.dampening) o.dampening = *g.dampening;
  if (g.weight_decay) o.weight_decay = *g.weight_decay;
  if (g.nesterov) o.nesterov = *g.nesterov;
  if (g.maximize) o.maximize = *g.maximize;
  return o;
}

void for_each_option(SGDOptions& o, OptionVisitor& visit) {
  visit("lr", o.lr);
  visit("momentum", o.momentum);
  visit("dampening", o.dampening);
  visit("weight_decay", o.weight_decay);
  visit("nesterov", o.nesterov);
  visit("maximize", o.maximize);
}

SGD::SGD(std::vector<Variable> params, SGDOptions options)
    : SGD(std::vector<Group>{Group{std::move(params)}}, options) {}

SGD::SGD(std::vector<Group> groups, SGDOptions defaults)
    : BasicOptimizer("SGD", std::move(groups), defaults) {}

namespace {

struct SgdCoefficients {
  float wd, mom, keep, neg_lr;
};

// p, g and buf never alias: __restrict lets the loop vectorise.
// The flags are std::true_type / std::false_type (see detail::with_flags).
template <class Maximize, class Decay, class Momentum, class Nesterov, class First>
void sgd_kernel(Maximize, Decay, Momentum, Nesterov, First, float* __restrict p,
                const float* __restrict g, float* __restrict buf, std::size_t begin,
                std::size_t end, SgdCoefficients c) {
  for (std::size_t j = begin; j < end; ++j) {
    float d = Maximize::value ? -g[j] : g[j];
    if constexpr (Decay::value) d = d + c.wd * p[j];
    if constexpr (Momentum::value) {
      const float b = First::value ? d : buf[j] * c.mom + c.keep * d;
      buf[j] = b;
      d = Nesterov::value ? d + c.mom * b : b;
    }
    p[j] = p[j] + c.neg_lr * d;
  }
}

}  // namespace

void SGD::update_param(const SGDOptions& o, Tensor& value, const Tensor& grad, ParamState& state) {
  const bool use_momentum = o.momentum != 0;
  std::optional<Tensor>& slot = state.buffers[0];
  // PyTorch starts the buffer as a copy of the first step's direction: no dampening then.
  const bool first = use_momentum && !slot;
  if (first) slot = empty_tensor(value.shape());
  float* p = value.data();
  const float* g = grad.data();
  float* buf = use_momentum ? slot->data() : nullptr;
  // Coefficients rounded to float once, as PyTorch's kernels receive them.
  const SgdCoefficients c{static_cast<float>(o.weight_decay), static_cast<float>(o.momentum),
                          static_cast<float>(1.0 - o.dampening), static_cast<float>(-o.lr)};
  detail::with_flags(
      [&](auto maximize, auto decay, auto momentum, auto nesterov, auto first_step) {
        detail::for_each_chunk(value.size(), [&](std::size_t begin, std::size_t end) {
          sgd_kernel(maximize, decay, momentum, nesterov, first_step, p, g, buf, begin, end, c);
        });
      },
      o.maximize, o.weight_decay != 0, use_momentum, use_momentum && o.nesterov, first);
}

}  // namespace tg::optim
