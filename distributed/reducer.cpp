#include "tapegrad/distributed/reducer.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/distributed/comm.hpp"

namespace tg::distributed::detail {

Reducer::Reducer(const nn::Module& model, std::vector<std::pair<std::string, Variable>> params,
                 ReducerOptions options)
    : model_(&model), find_unused_(options.find_unused_parameters) {
  for (auto it = params.rbegin(); it != params.rend(); ++it)
    params_.push_back({it->first, it->second, it->second.shape()});
  build_buckets(options);
}

// Greedy in reverse registration order: a bucket closes when the next parameter would take it
// past its cap (a parameter larger than the cap gets a bucket of its own).
void Reducer::build_buckets(const ReducerOptions& options) {
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const std::size_t size = params_[i].var.numel() * sizeof(float);
    const std::size_t limit =
        buckets_.size() == 1 ? options.first_bucket_cap_bytes : options.bucket_cap_bytes;
    if (buckets_.empty() || (bytes > 0 && bytes + size > limit)) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& b = buckets_.back();
    params_[i].bucket = buckets_.size() - 1;
    params_[i].offset = b.flat.size();
    b.params.push_back(i);
    b.flat.resize(b.flat.size() + params_[i].var.numel());
    bytes += size;
  }
  for (Bucket& b : buckets_) b.pending = b.params.size();
}

void Reducer::attach(const std::shared_ptr<Reducer>& self) {
  std::weak_ptr<Reducer> weak = self;
  for (std::size_t i = 0; i < self->params_.size(); ++i)
    self->params_[i].var.register_hook([weak, i](Tensor& g) {
      if (auto r = weak.lock()) r->on_grad(i, g);
    });
}

// The buckets were laid out for the parameters at construction: a parameter resized, replaced,
// added, unfrozen or frozen since then would be written past its bucket or never averaged.
std::string Reducer::validate() const {
  const auto now = model_->named_parameters();
  std::unordered_map<std::string, const Variable*> by_name;
  for (const auto& [name, v] : now) by_name.emplace(name, &v);
  std::string change;
  for (auto it = params_.rbegin(); it != params_.rend() && change.empty(); ++it) {
    const Param& p = *it;
    auto found = by_name.find(p.name);
    if (found == by_name.end())
      change = "parameter '" + p.name + "' " + shape_str(p.shape) + " was removed or renamed";
    else if (found->second->node() != p.var.node())
      change = "parameter '" + p.name + "' was replaced by another Variable (shape " +
               shape_str(p.shape) + " at wrapping, " + shape_str(found->second->shape()) +
               " now), whose gradient DDP would never average";
    else if (p.var.shape() != p.shape)
      change = "parameter '" + p.name + "' changed shape from " + shape_str(p.shape) + " to " +
               shape_str(p.var.shape());
    else if (!p.var.requires_grad())
      change = "parameter '" + p.name + "' " + shape_str(p.shape) + " was frozen (requires_grad "
               "false)";
  }
  if (change.empty()) {
    std::unordered_map<std::string, bool> wrapped;
    for (const Param& p : params_) wrapped.emplace(p.name, true);
    for (const auto& [name, v] : now)
      if (v.requires_grad() && !wrapped.count(name)) {
        change = "parameter '" + name + "' " + shape_str(v.shape()) + " was added or unfrozen "
                 "(requires_grad true), and its gradient would never be averaged";
        break;
      }
  }
  if (change.empty()) return {};
  return "DistributedDataParallel: expected the parameters the model had when it was wrapped, "
         "got a change: " + change + " after wrapping; gradients are averaged in buckets laid "
         "out at construction, so re-create the DistributedDataParallel wrapper (on every rank) "
         "after changing the model, and the optimizer if its parameters changed";
}

void Reducer::on_grad(std::size_t i, const Tensor& g) {
  if (!in_pass_) {  // the first gradient of a backward pass: check before anything is written
    const std::string error = validate();
    TG_CHECK(error.empty(), error);
    in_pass_ = true;
    ++passes_;
  }
  if (no_sync_depth > 0) return;
  Param& p = params_[i];
  if (p.arrived && world_size() == 1) reset();  // an earlier backward threw: start afresh
  TG_CHECK(!p.arrived, "DistributedDataParallel: expected one gradient per backward for '",
           p.name, "', got a second before backward finished (did an earlier backward throw? "
           "every rank must run the same backward passes)");
  p.arrived = true;
  ++arrived_;
  if (world_size() == 1) return;  // nothing to sum: only unused parameters are checked
  contribute(i, &g);
  if (--buckets_[p.bucket].pending == 0) launch_ready();
  poll();
}

// What this rank adds to the sum: the gradient accumulated so far (no_sync micro-batches) plus
// this pass's g (nullptr: none, an unused parameter reduced as zero).
void Reducer::contribute(std::size_t i, const Tensor* g) {
  Param& p = params_[i];
  float* dst = buckets_[p.bucket].flat.data() + p.offset;
  const std::size_t n = p.var.numel();
  // validate() ran at the start of the pass; a shape changed during backward is caught here.
  TG_CHECK(p.var.shape() == p.shape && (!g || g->size() == n) &&
               (!p.var.has_grad() || p.var.grad().size() == n),
           "DistributedDataParallel: expected parameter '", p.name, "' of shape ",
           shape_str(p.shape), " as when it was wrapped, got ", shape_str(p.var.shape()),
           "; re-create the DistributedDataParallel wrapper after changing the model");
  if (g)
    std::copy(g->data(), g->data() + n, dst);
  else
    std::fill(dst, dst + n, 0.0f);
  if (p.var.has_grad()) {
    const float* old = p.var.grad().data();
    for (std::size_t k = 0; k < n; ++k) dst[k] += old[k];
  }
}

// Buckets start in bucket order on every rank, so that the allreduces match across ranks even
// when gradients arrive in another order.
void Reducer::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Bucket& b = buckets_[next_launch_++];
    b.sum = std::make_unique<AsyncSum>(b.flat.data(), b.flat.size(), passes_);
  }
}

// MPI moves data only inside MPI calls: each hook gives the oldest sum in flight a nudge.
void Reducer::poll() {
  for (std::size_t k = 0; k < next_launch_; ++k)
    if (buckets_[k].sum && !buckets_[k].sum->test()) return;
}

void Reducer::wait_all() {
  for (Bucket& b : buckets_)
    if (b.sum) b.sum->wait();
}

bool Reducer::finish() {
  if (no_sync_depth > 0 || arrived_ == 0) {  // not a pass through the model
    reset();
    return false;
  }
  // used[i]: arrived on every rank; used[n + i]: -(arrived on some rank); used[2n]: -(1 + the
  // rank * n + index of a parameter changed inside no_sync()), else 0. One MIN does all.
  const std::size_t n = params_.size();
  std::vector<std::int64_t> used(2 * n + 1);
  for (std::size_t i = 0; i < n; ++i) {
    used[i] = params_[i].arrived;
    used[n + i] = -std::int64_t(params_[i].arrived);
  }
  used[2 * n] = stepped_ < 0 ? 0 : -(1 + std::int64_t(rank()) * std::int64_t(n) + stepped_);
  stepped_ = -1;
  control_min(used.data(), used.size(), passes_);
  std::size_t first_missing = n;  // in registration order: the last in params_
  for (std::size_t i = 0; i < n; ++i)
    if (used[i] == 0) first_missing = i;
  if (world_size() > 1) {
    // Every rank launches every bucket (zeros for what it lacks) so no allreduce is left
    // unmatched, also on the error path.
    for (std::size_t i = 0; i < n; ++i)
      if (!params_[i].arrived) {
        contribute(i, nullptr);
        --buckets_[params_[i].bucket].pending;
      }
    launch_ready();
    wait_all();
  }
  if (used[2 * n] < 0 && world_size() > 1) {
    const std::int64_t at = -used[2 * n] - 1;
    const std::string name = params_[std::size_t(at % std::int64_t(n))].name;
    reset();
    TG_CHECK(false, "DistributedDataParallel: expected no optimizer step inside no_sync(), got "
             "parameter '", name, "' changed there on rank ", at / std::int64_t(n), " (a step on "
             "local gradients not yet averaged leaves the replicas different); call opt.step() "
             "after the synchronised backward that ends the accumulation");
  }
  if (first_missing < n && !find_unused_) {
    const std::string name = params_[first_missing].name;
    reset();
    TG_CHECK(false, "DistributedDataParallel: expected a gradient for every parameter, got "
             "none for '", name, "' on at least one rank (it took no part in the loss); pass "
             "{.find_unused_parameters = true} to reduce such parameters as zero, or set "
             "requires_grad false on parameters that are not trained");
  }
  if (world_size() > 1) {
    std::vector<std::int64_t> some(used.begin() + std::ptrdiff_t(n), used.end());
    write_back(some);
  }
  reset();
  return true;
}

// grad() = sum / world for every parameter that got a gradient on some rank.
void Reducer::write_back(const std::vector<std::int64_t>& neg_used_somewhere) {
  const float scale = 1.0f / float(world_size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (neg_used_somewhere[i] == 0) continue;  // no rank used it: grad() stays as it was
    Param& p = params_[i];
    const float* src = buckets_[p.bucket].flat.data() + p.offset;
    auto& grad = p.var.node()->grad;
    if (!grad) grad.emplace(empty_tensor(p.var.shape()));
    float* dst = grad->data();
    for (std::size_t k = 0, m = p.var.numel(); k < m; ++k) dst[k] = src[k] * scale;
  }
}

namespace {
std::uint64_t checksum(const Variable& v) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the bits of the values
  for (float x : v.value()) {
    std::uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    h = (h ^ bits) * 1099511628211ull;
  }
  return h;
}
}  // namespace

void Reducer::enter_no_sync() {
  if (no_sync_depth++ > 0) return;
  for (Param& p : params_) p.checksum = checksum(p.var);
}

void Reducer::leave_no_sync() {
  if (--no_sync_depth > 0) return;
  for (std::size_t i = params_.size(); i-- > 0;)  // the first in registration order
    if (params_[i].var.shape() == params_[i].shape && checksum(params_[i].var) != params_[i].checksum) {
      stepped_ = std::int64_t(i);
      break;
    }
}

void Reducer::reset() {
  in_pass_ = false;
  for (Param& p : params_) p.arrived = false;
  for (Bucket& b : buckets_) {
    if (b.sum) b.sum->wait();
    b.sum.reset();
    b.pending = b.params.size();
  }
  next_launch_ = 0;
  arrived_ = 0;
}

std::vector<std::vector<std::string>> Reducer::bucket_names() const {
  std::vector<std::vector<std::string>> out;
  for (const Bucket& b : buckets_) {
    out.emplace_back();
    for (std::size_t i : b.params) out.back().push_back(params_[i].name);
  }
  return out;
}

}  // namespace tg::distributed::detail
