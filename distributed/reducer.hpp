#pragma once
// Internal: DDP's gradient buckets. Parameters go into buckets in reverse registration order
// (roughly the order backward produces their gradients); a hook on each parameter copies its
// gradient into its bucket's flat buffer, and a full bucket starts its allreduce at once, in
// bucket order on every rank. After backward, finish() agrees on unused parameters, waits for
// the sums and writes the averages back into grad().
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/autograd/variable.hpp"
#include "tapegrad/distributed/backend.hpp"
#include "tapegrad/nn/module.hpp"

namespace tg::distributed::detail {

struct ReducerOptions {
  std::size_t bucket_cap_bytes = 25u << 20;
  std::size_t first_bucket_cap_bytes = 1u << 20;
  bool find_unused_parameters = false;
};

class Reducer {
 public:
  /// `params`: `model`'s trainable parameters in registration order, with their names. The
  /// model is checked against them at every backward pass (it must outlive the reducer's use).
  Reducer(const nn::Module& model, std::vector<std::pair<std::string, Variable>> params,
          ReducerOptions options);
  /// Hooks every parameter; the hooks hold `self` weakly, so they do nothing once DDP is gone.
  static void attach(const std::shared_ptr<Reducer>& self);

  /// A parameter's gradient for this backward pass (before the engine accumulates it).
  void on_grad(std::size_t i, const Tensor& g);
  /// After backward: agree on unused parameters, wait, average into grad(). Whether this was
  /// a synchronised pass through the model.
  bool finish();
  /// Entering and leaving no_sync(): remembers the parameters' values so that an optimizer
  /// step taken inside (on local, not yet averaged gradients) is found.
  void enter_no_sync();
  void leave_no_sync();
  int no_sync_depth = 0;
  std::vector<std::vector<std::string>> bucket_names() const;

 private:
  struct Param {
    std::string name;
    Variable var;
    Shape shape;  // at construction: the bucket's layout
    std::uint64_t checksum = 0;  // of the value when no_sync() began
    std::size_t bucket = 0, offset = 0;
    bool arrived = false;
  };
  struct Bucket {
    std::vector<std::size_t> params;
    std::vector<float> flat;
    std::size_t pending = 0;  // parameters whose gradient has not arrived yet
    std::unique_ptr<AsyncSum> sum;
  };
  void build_buckets(const ReducerOptions& options);
  void contribute(std::size_t i, const Tensor* g);
  void launch_ready();
  void poll();
  void wait_all();
  void write_back(const std::vector<std::int64_t>& used_somewhere);
  void reset();
  std::string validate() const;

  const nn::Module* model_;
  std::vector<Param> params_;  // reverse registration order
  std::vector<Bucket> buckets_;
  bool find_unused_;
  std::size_t next_launch_ = 0, arrived_ = 0;
  bool in_pass_ = false;          // a gradient of this backward pass arrived (no_sync or not)
  std::int64_t passes_ = 0;       // backward passes through the model, no_sync ones included
  std::int64_t stepped_ = -1;     // a parameter (index into params_) changed inside no_sync()
};

}  // namespace tg::distributed::detail
