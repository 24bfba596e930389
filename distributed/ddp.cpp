#include "tapegrad/distributed/ddp.hpp"

#include <sstream>

#include "tapegrad/autograd/backward_callbacks.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/distributed/backend.hpp"
#include "tapegrad/distributed/comm.hpp"
#include "tapegrad/distributed/reducer.hpp"

namespace tg::distributed {

namespace {

// One line per option, parameter and buffer: what must agree across ranks. (Options that differ
// would lay out different buckets, or average on some ranks only.)
std::vector<std::string> describe(const nn::Module& model, const DDPOptions& o) {
  std::ostringstream options;
  options << "options {bucket_cap_mb = " << o.bucket_cap_mb << ", first_bucket_cap_mb = "
          << o.first_bucket_cap_mb << ", find_unused_parameters = " << o.find_unused_parameters
          << ", broadcast_buffers = " << o.broadcast_buffers << "}";
  std::vector<std::string> lines{options.str()};
  for (const auto& [name, p] : model.named_parameters())
    lines.push_back("parameter '" + name + "' " + shape_str(p.shape()) +
                    (p.requires_grad() ? "" : " (frozen)"));
  for (const auto& [name, b] : model.named_buffers())
    lines.push_back("buffer '" + name + "' " + shape_str(b.shape()));
  return lines;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + '\n';
  return out;
}

// This rank's first difference from rank 0's description, or "".
std::string first_difference(const std::vector<std::string>& mine, const std::string& root) {
  std::vector<std::string> theirs;
  std::istringstream in(root);
  for (std::string line; std::getline(in, line);) theirs.push_back(line);
  for (std::size_t i = 0; i < std::max(mine.size(), theirs.size()); ++i) {
    const std::string a = i < theirs.size() ? theirs[i] : "nothing";
    const std::string b = i < mine.size() ? mine[i] : "nothing";
    if (a != b)
      return "entry " + std::to_string(i) + ": rank 0 has " + a + ", rank " +
             std::to_string(rank()) + " has " + b;
  }
  return {};
}

// Throws on every rank when some rank's parameters differ from rank 0's: the lowest such rank
// sends its finding to all, so every rank's message names the same difference.
void check_same_model(const nn::Module& model, const DDPOptions& options) {
  const std::vector<std::string> mine = describe(model, options);
  std::string root = join(mine);
  detail::broadcast_string(root, 0);
  std::string diff = first_difference(mine, root);
  std::int64_t bad = diff.empty() ? world_size() : rank();
  detail::control_min(&bad, 1);
  if (bad == world_size()) return;
  detail::broadcast_string(diff, int(bad));
  TG_CHECK(false, "DistributedDataParallel: expected the same options, parameters and buffers "
           "(names and shapes) on every rank, got a difference at ", diff,
           "; build the same model, and pass the same DDPOptions, on every rank");
}

// Rank 0's values of `vars` on every rank, in one message.
void broadcast_values(const std::vector<Variable>& vars) {
  if (world_size() == 1 || vars.empty()) return;
  std::vector<float> flat;
  for (const Variable& v : vars) flat.insert(flat.end(), v.value().begin(), v.value().end());
  detail::broadcast_floats(flat.data(), flat.size(), 0);
  std::size_t at = 0;
  for (Variable v : vars) {
    std::copy(flat.begin() + std::ptrdiff_t(at), flat.begin() + std::ptrdiff_t(at + v.numel()),
              v.value().begin());
    at += v.numel();
  }
}

std::size_t mib(double mb) { return std::size_t(mb * 1024.0 * 1024.0); }

}  // namespace

DistributedDataParallel::DistributedDataParallel(nn::Module& model, DDPOptions options)
    : model_(&model), options_(options) {
  TG_CHECK(options.bucket_cap_mb > 0 && options.first_bucket_cap_mb > 0,
           "DistributedDataParallel: expected bucket_cap_mb and first_bucket_cap_mb > 0, got ",
           options.bucket_cap_mb, " and ", options.first_bucket_cap_mb);
  init();
  check_same_model(model, options);
  broadcast_values(model.parameters());
  broadcast_values(model.buffers());
  std::vector<std::pair<std::string, Variable>> trainable;
  for (auto& [name, p] : model.named_parameters())
    if (p.requires_grad()) trainable.emplace_back(name, p);
  reducer_ = std::make_shared<detail::Reducer>(
      model, std::move(trainable),
      detail::ReducerOptions{.bucket_cap_bytes = mib(options.bucket_cap_mb),
                             .first_bucket_cap_bytes = mib(options.first_bucket_cap_mb),
                             .find_unused_parameters = options.find_unused_parameters});
  detail::Reducer::attach(reducer_);
  std::weak_ptr<detail::Reducer> weak = reducer_;
  const bool sync_buffers = options.broadcast_buffers;
  callback_id_ = add_post_backward_callback([weak, sync_buffers, this] {
    auto r = weak.lock();
    if (!r) return;
    const bool synced = r->finish();
    // Like PyTorch's broadcast before each forward: replicas keep rank 0's running statistics.
    if (synced && sync_buffers) broadcast_values(model_->buffers());
  });
}

DistributedDataParallel::~DistributedDataParallel() {
  remove_post_backward_callback(callback_id_);
}

DistributedDataParallel::NoSyncGuard::NoSyncGuard(std::shared_ptr<detail::Reducer> reducer)
    : reducer_(std::move(reducer)) {
  reducer_->enter_no_sync();
}
DistributedDataParallel::NoSyncGuard::~NoSyncGuard() { reducer_->leave_no_sync(); }

DistributedDataParallel::NoSyncGuard DistributedDataParallel::no_sync() {
  return NoSyncGuard(reducer_);
}

std::vector<std::vector<std::string>> DistributedDataParallel::bucket_names() const {
  return reducer_->bucket_names();
}

}  // namespace tg::distributed
