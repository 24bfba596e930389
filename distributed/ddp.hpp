#pragma once
// DistributedDataParallel: every rank trains a replica of the model on its share of the
// batch; during backward, gradients are summed across ranks bucket by bucket while the rest of
// backward still runs, so that when backward() returns each parameter's grad() is the average
// over ranks and every replica takes the same optimizer step (PyTorch's DDP semantics).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/nn/module.hpp"

namespace tg::distributed {

/// Options of DistributedDataParallel.
struct DDPOptions {
  double bucket_cap_mb = 25;        ///< gradient bytes per allreduce (MiB); the first is smaller
  bool find_unused_parameters = false;  ///< reduce a parameter that got no gradient as zero
  double first_bucket_cap_mb = 1;   ///< the first bucket (last layers) starts communicating early
  bool broadcast_buffers = true;    ///< after each synchronised backward, rank 0's buffers
                                    ///< (BatchNorm running statistics) go to every rank
};

namespace detail {
class Reducer;
}

/// Attaches to `model`'s parameters (the user keeps calling model.forward and builds the
/// optimizer from model.parameters()). Construction is collective: every rank must build it
/// with the same parameter names and shapes (else a tg::Error naming the first difference, on
/// every rank), and rank 0's parameters and buffers are copied to every rank. After each
/// backward() through the model, grad() of every trainable parameter is the average over
/// ranks. A parameter that got no gradient on some rank is a tg::Error naming it (on every
/// rank, after draining the allreduces in flight), unless find_unused_parameters: then it is
/// reduced as zero (and one that got none on any rank keeps its grad() as it was).
/// The options must be the same on every rank (checked at construction with the parameters).
/// The model must keep the parameters it had when wrapped: one resized, replaced, added,
/// unfrozen or frozen afterwards is a tg::Error naming it at the next backward, before any
/// gradient is written; re-create the wrapper after changing the model.
class DistributedDataParallel {
 public:
  /// Wraps `model` (which must outlive it): checks that every rank has the same parameters,
  /// buffers and options (else tg::Error on every rank naming the difference), copies rank 0's
  /// parameters and buffers to all, and hooks the parameters' gradients into buckets.
  explicit DistributedDataParallel(nn::Module& model, DDPOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  /// While alive, backward() only accumulates local gradients (gradient accumulation over
  /// micro-batches); the first backward after it averages the accumulated sums. Every rank
  /// must use it alike (else an error naming the ranks' backward passes), and an optimizer
  /// step inside it is a tg::Error on every rank at that synchronised backward (it would make
  /// the replicas differ).
  class NoSyncGuard {
   public:
    /// Made by no_sync().
    explicit NoSyncGuard(std::shared_ptr<detail::Reducer> reducer);
    ~NoSyncGuard();
    NoSyncGuard(const NoSyncGuard&) = delete;
    NoSyncGuard& operator=(const NoSyncGuard&) = delete;

   private:
    std::shared_ptr<detail::Reducer> reducer_;
  };
  /// Local accumulation until the guard is destroyed (PyTorch's `with ddp.no_sync():`).
  [[nodiscard]] NoSyncGuard no_sync();

  /// The wrapped model.
  nn::Module& module() const { return *model_; }
  /// The options it was made with.
  const DDPOptions& options() const { return options_; }
  /// Parameter names of each bucket, in the order buckets are reduced (for inspection).
  std::vector<std::vector<std::string>> bucket_names() const;

 private:
  nn::Module* model_;
  DDPOptions options_;
  std::shared_ptr<detail::Reducer> reducer_;
  std::uint64_t callback_id_ = 0;
};

}  // namespace tg::distributed
