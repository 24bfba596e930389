#include "tapegrad/optim/swa_utils.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/nn/normalization.hpp"

namespace tg::optim::swa_utils {

AvgFn swa() {
  return [](Tensor& a, const Tensor& c, std::int64_t n) {
    const float inv = 1.0f / static_cast<float>(n + 1);
    for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] += (c.data()[i] - a.data()[i]) * inv;
  };
}

AvgFn ema(double decay) {
  TG_CHECK(decay >= 0.0 && decay <= 1.0, "ema: expected decay in [0, 1], got ", decay);
  return [d = static_cast<float>(decay)](Tensor& a, const Tensor& c, std::int64_t) {
    for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = d * a.data()[i] + (1.0f - d) * c.data()[i];
  };
}

namespace detail {

namespace {
std::vector<Tensor> copies(const std::vector<std::pair<std::string, Variable>>& named) {
  std::vector<Tensor> out;
  for (const auto& [name, v] : named) out.push_back(v.value());
  return out;
}

// Folds `from` into `into` (same order and shapes: the same architecture).
void fold(std::vector<Tensor>& into, const std::vector<std::pair<std::string, Variable>>& from,
          const AvgFn& avg_fn, std::int64_t n) {
  TG_CHECK(into.size() == from.size(), "AveragedModel.update_parameters: expected a model with ", into.size(),
           " tensors like the averaged one, got ", from.size());
  for (std::size_t i = 0; i < into.size(); ++i) {
    const Tensor& current = from[i].second.value();
    TG_CHECK(current.shape() == into[i].shape(), "AveragedModel.update_parameters: ", from[i].first,
             " has shape ", shape_str(current.shape()), ", the average ", shape_str(into[i].shape()));
    if (n == 0)
      into[i] = current;
    else
      avg_fn(into[i], current, n);
  }
}

// Which buffers a state dict stores as integers (BatchNorm's num_batches_tracked).
std::vector<bool> integral(const nn::Module& model) {
  const nn::StateDict state = model.state_dict();
  std::vector<bool> out;
  for (const auto& [name, v] : model.named_buffers()) {
    bool is_integral = false;
    for (const nn::StateEntry& e : state.entries())
      if (e.name == name) is_integral = e.dtype == nn::Dtype::I64;
    out.push_back(is_integral);
  }
  return out;
}
}  // namespace

Averager::Averager(nn::Module& model, AvgFn avg_fn, bool use_buffers)
    : model_(model), avg_fn_(std::move(avg_fn)), use_buffers_(use_buffers),
      params_(copies(model.named_parameters())), buffers_(copies(model.named_buffers())),
      integral_buffers_(integral(model)) {}

void Averager::update_parameters(const nn::Module& model) {
  fold(params_, model.named_parameters(), avg_fn_, n_averaged_);
  if (use_buffers_) {
    fold(buffers_, model.named_buffers(), avg_fn_, n_averaged_);
    // PyTorch copies the average into the integer buffer, which truncates it toward zero; a
    // fractional count would also not save as the I64 it is.
    for (std::size_t i = 0; i < buffers_.size(); ++i)
      if (integral_buffers_[i])
        for (float& v : buffers_[i]) v = std::trunc(v);
  }
  ++n_averaged_;
}

void Averager::swap_with_model() {
  auto params = model_.named_parameters();
  auto buffers = model_.named_buffers();
  for (std::size_t i = 0; i < params_.size(); ++i) std::swap(params[i].second.value(), params_[i]);
  for (std::size_t i = 0; i < buffers_.size(); ++i) std::swap(buffers[i].second.value(), buffers_[i]);
}

nn::StateDict Averager::state_dict() const {
  nn::StateDict dict;
  const nn::StateDict live = model_.state_dict();  // for each entry's stored dtype
  auto put = [&](const std::string& name, const Tensor& value) {
    nn::Dtype dtype = nn::Dtype::F32;
    for (const nn::StateEntry& e : live.entries())
      if (e.name == name) dtype = e.dtype;
    dict.insert("module." + name, value, dtype);
  };
  const auto params = model_.named_parameters();
  const auto buffers = model_.named_buffers();
  for (std::size_t i = 0; i < params_.size(); ++i) put(params[i].first, params_[i]);
  for (std::size_t i = 0; i < buffers_.size(); ++i) put(buffers[i].first, buffers_[i]);
  Tensor n = empty_tensor({});
  n.data()[0] = static_cast<float>(n_averaged_);
  dict.insert("n_averaged", n, nn::Dtype::I64);
  return dict;
}

namespace {
// The averaged values of `named` (the model's parameters or buffers) in `dict`, checked.
std::vector<Tensor> entries_for(const nn::StateDict& dict,
                                const std::vector<std::pair<std::string, Variable>>& named,
                                const std::vector<Tensor>& current) {
  std::vector<Tensor> out;
  for (std::size_t i = 0; i < named.size(); ++i) {
    const std::string name = "module." + named[i].first;
    const Tensor* value = dict.find(name);
    TG_CHECK(value != nullptr, "AveragedModel.load_state_dict: expected an entry '", name,
             "' (the state_dict() of an average of the same architecture), got none");
    TG_CHECK(value->shape() == current[i].shape(), "AveragedModel.load_state_dict: ", name,
             " has shape ", shape_str(value->shape()), ", the average ", shape_str(current[i].shape()));
    out.push_back(*value);
  }
  return out;
}
}  // namespace

void Averager::load_state_dict(const nn::StateDict& dict) {
  std::vector<Tensor> params = entries_for(dict, model_.named_parameters(), params_);
  std::vector<Tensor> buffers = entries_for(dict, model_.named_buffers(), buffers_);
  const Tensor* n = dict.find("n_averaged");
  TG_CHECK(n != nullptr && n->size() == 1, "AveragedModel.load_state_dict: expected an entry "
           "'n_averaged' holding one count, got ", n ? shape_str(n->shape()) : "none");
  const float count = *n->data();
  TG_CHECK(count >= 0 && count <= 9007199254740992.0f && std::floor(count) == count,
           "AveragedModel.load_state_dict: expected n_averaged a whole number >= 0, got ", count);
  TG_CHECK(dict.size() == params.size() + buffers.size() + 1, "AveragedModel.load_state_dict: "
           "expected ", params.size() + buffers.size() + 1, " entries, got ", dict.size(),
           " (entries of another model?)");
  params_ = std::move(params);
  buffers_ = std::move(buffers);
  n_averaged_ = static_cast<std::int64_t>(count);
}

}  // namespace detail

SWALR::SWALR(Optimizer& optimizer, double swa_lr, std::int64_t anneal_epochs, AnnealStrategy strategy)
    : SWALR(optimizer, std::vector<double>(optimizer.lrs().size(), swa_lr), anneal_epochs, strategy) {}

SWALR::SWALR(Optimizer& optimizer, std::vector<double> swa_lrs, std::int64_t anneal_epochs,
             AnnealStrategy strategy)
    : LRScheduler("SWALR", optimizer), swa_lrs_(std::move(swa_lrs)), anneal_epochs_(anneal_epochs),
      strategy_(strategy) {
  TG_CHECK(swa_lrs_.size() == optimizer.lrs().size(), "SWALR: expected one swa_lr per parameter group (",
           optimizer.lrs().size(), "), got ", swa_lrs_.size());
  for (double lr : swa_lrs_) TG_CHECK(std::isfinite(lr) && lr >= 0, "SWALR: expected swa_lr >= 0, got ", lr);
  TG_CHECK(anneal_epochs >= 0, "SWALR: expected anneal_epochs >= 0, got ", anneal_epochs);
  initial_step();
}

double SWALR::anneal(double t) const {
  return strategy_ == AnnealStrategy::Cos ? (1 - std::cos(std::numbers::pi * t)) / 2 : t;
}

// PyTorch 1.13's get_lr: it infers the rate the schedule started from out of the group's
// current rate and the previous step's alpha, then blends that with swa_lr by this step's.
std::vector<double> SWALR::compute_lr() {
  std::vector<double> lrs = optimizer_.lrs();
  std::int64_t step = step_count_ - 1;
  if (anneal_epochs_ == 0) step = std::max<std::int64_t>(1, step);
  const double span = static_cast<double>(std::max<std::int64_t>(1, anneal_epochs_));
  const double prev_alpha = anneal(std::clamp(static_cast<double>(step - 1) / span, 0.0, 1.0));
  const double alpha = anneal(std::clamp(static_cast<double>(step) / span, 0.0, 1.0));
  for (std::size_t g = 0; g < lrs.size(); ++g) {
    const double start =
        prev_alpha == 1.0 ? swa_lrs_[g] : (lrs[g] - prev_alpha * swa_lrs_[g]) / (1 - prev_alpha);
    lrs[g] = swa_lrs_[g] * alpha + start * (1 - alpha);
  }
  return lrs;
}

namespace detail {

BatchNormRefresh begin_update_bn(nn::Module& model) {
  BatchNormRefresh refresh;
  refresh.was_training = model.is_training();
  for (nn::Module* m : model.modules()) {
    auto* bn = dynamic_cast<nn::BatchNormImpl*>(m);
    if (!bn || !bn->options.track_running_stats) continue;
    refresh.momenta.emplace_back(bn, bn->options.momentum);
    bn->reset_running_stats();
    bn->options.momentum = std::nullopt;
  }
  if (!refresh.momenta.empty()) model.train(true);
  return refresh;
}

void end_update_bn(nn::Module& model, const BatchNormRefresh& refresh) {
  for (const auto& [bn, momentum] : refresh.momenta) bn->options.momentum = momentum;
  model.train(refresh.was_training);
}

}  // namespace detail
}  // namespace tg::optim::swa_utils
