#pragma once
/// @file
/// BatchNorm1d and BatchNorm2d (torch.nn.BatchNorm1d/2d).
#include <functional>
#include <optional>

#include "tapegrad/nn/module.hpp"

namespace tg::nn {

/// `{.eps = 1e-5, .momentum = 0.1}`; momentum nullopt is PyTorch's momentum=None (a cumulative
/// average of the batch statistics).
struct BatchNormOptions {
  double eps = 1e-5;
  std::optional<double> momentum = 0.1;
  bool affine = true;               ///< learn weight (init 1) and bias (init 0)
  bool track_running_stats = true;  ///< keep running_mean/var and use them in eval
};

/// Normalises each channel (dimension 1) over the batch. Parameters weight, bias [C]; buffers
/// running_mean [C] (init 0), running_var [C] (init 1), num_batches_tracked [] (saved as I64,
/// held as float: exact up to 2^24 batches), PyTorch's names.
class BatchNormImpl : public Layer {
 public:
  /// spatial_dims 1 or 2 (use BatchNorm1d/BatchNorm2d); num_features C, the channels.
  BatchNormImpl(int spatial_dims, std::int64_t num_features, BatchNormOptions options);
  Variable forward(const Variable& x) override;
  /// relu(forward(x)), fused (tg::batch_norm_relu): the residual blocks' conv -> BN -> ReLU.
  Variable forward_relu(const Variable& x);
  std::string name() const override;
  std::string extra_repr() const override;
  /// running_mean = 0, running_var = 1, num_batches_tracked = 0.
  void reset_running_stats();
  /// reset_running_stats(), weight = 1, bias = 0.
  void reset_parameters();

  int spatial_dims;  ///< 1 for BatchNorm1d ([N, C] or [N, C, L]), 2 for BatchNorm2d
  std::int64_t num_features;  ///< C, the channels
  BatchNormOptions options;   ///< as constructed
  ///@{
  /// Scale and shift [C]; undefined unless affine.
  Variable weight, bias;
  ///@}
  ///@{
  /// Running statistics [C] and the batch count []; undefined unless tracked.
  Variable running_mean, running_var, num_batches_tracked;
  ///@}
  /// Replaces tg::batch_norm when set: tg::distributed::convert_sync_batchnorm puts its
  /// statistics-over-every-rank version here (nn knows nothing of MPI).
  std::function<Variable(const Variable& x, Tensor* running_mean, Tensor* running_var,
                         const Variable& weight, const Variable& bias, bool training,
                         float momentum, float eps)>
      batch_norm_fn;

 private:
  Variable normalize(const Variable& x, bool relu);
  Variable apply(const Variable& x, Tensor* mean, Tensor* var, bool batch_stats, float factor,
                 bool relu);
};

/// Input [N, C] or [N, C, L].
class BatchNorm1dImpl : public BatchNormImpl {
 public:
  /// Over num_features channels.
  explicit BatchNorm1dImpl(std::int64_t num_features, BatchNormOptions options = {})
      : BatchNormImpl(1, num_features, options) {}
};

/// Input [N, C, H, W].
class BatchNorm2dImpl : public BatchNormImpl {
 public:
  /// Over num_features channels.
  explicit BatchNorm2dImpl(std::int64_t num_features, BatchNormOptions options = {})
      : BatchNormImpl(2, num_features, options) {}
};

/// Holder of a BatchNorm1dImpl: `tg::nn::BatchNorm1d bn(128)`.
class BatchNorm1d : public ModuleHolder<BatchNorm1dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new BatchNorm1dImpl over num_features channels.
  BatchNorm1d(std::int64_t num_features, BatchNormOptions options = {})
      : ModuleHolder(std::make_shared<BatchNorm1dImpl>(num_features, options)) {}
};

/// Holder of a BatchNorm2dImpl: `tg::nn::BatchNorm2d bn(64, {.momentum = 0.01})`.
class BatchNorm2d : public ModuleHolder<BatchNorm2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new BatchNorm2dImpl over num_features channels.
  BatchNorm2d(std::int64_t num_features, BatchNormOptions options = {})
      : ModuleHolder(std::make_shared<BatchNorm2dImpl>(num_features, options)) {}
};

}  // namespace tg::nn
