#pragma once
/// @file
/// BatchNorm1d and BatchNorm2d (torch.nn.BatchNorm1d/2d).
#include <functional>
#include <optional>

#include "tapegrad/autograd/arg.hpp"
#include "tapegrad/nn/module.hpp"

namespace tg::nn {

/// BatchNorm's options (torch::nn::BatchNormOptions), in either form:
/// `BatchNorm2d(64, {.eps = 1e-3, .momentum = 0.01})` or LibTorch's
/// `BatchNorm2d(BatchNorm2dOptions(64).eps(1e-3).momentum(0.01))`; each field reads as a value
/// and as LibTorch's getter (tapegrad/autograd/arg.hpp).
struct BatchNormOptions {
  /// Channels C (LibTorch's positional argument; in the designated form the layer's
  /// constructor argument sets it).
  TG_ARG(BatchNormOptions, num_features, std::int64_t) = 0;
  /// Added to the variance before the square root.
  TG_ARG(BatchNormOptions, eps, double) = 1e-5;
  /// Weight of the new batch statistics in the running ones; nullopt is PyTorch's
  /// momentum=None (a cumulative average of the batch statistics).
  TG_ARG(BatchNormOptions, momentum, std::optional<double>) = 0.1;
  /// Learn weight (init 1) and bias (init 0).
  TG_ARG(BatchNormOptions, affine, bool) = true;
  /// Keep running_mean/var and use them in eval.
  TG_ARG(BatchNormOptions, track_running_stats, bool) = true;
};
/// LibTorch's name of BatchNorm1d's options.
using BatchNorm1dOptions = BatchNormOptions;
/// LibTorch's name of BatchNorm2d's options.
using BatchNorm2dOptions = BatchNormOptions;

/// Normalises each channel (dimension 1) over the batch. Parameters weight, bias [C]; buffers
/// running_mean [C] (init 0), running_var [C] (init 1), num_batches_tracked [] (saved as I64,
/// held as float: exact up to 2^24 batches), PyTorch's names.
class BatchNormImpl : public Layer {
 public:
  /// spatial_dims 1 or 2 (use BatchNorm1d/BatchNorm2d); num_features C, the channels. options.num_features is set from num_features.
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
  std::int64_t num_features;  ///< channels C (also options.num_features)
  BatchNormOptions options;   ///< the arguments the layer was built with
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
  /// LibTorch's form: `BatchNorm1dImpl(BatchNorm1dOptions(64).momentum(0.01))`.
  explicit BatchNorm1dImpl(const BatchNormOptions& options)
      : BatchNormImpl(1, options.num_features, options) {}
};

/// Input [N, C, H, W].
class BatchNorm2dImpl : public BatchNormImpl {
 public:
  /// Over num_features channels.
  explicit BatchNorm2dImpl(std::int64_t num_features, BatchNormOptions options = {})
      : BatchNormImpl(2, num_features, options) {}
  /// LibTorch's form: `BatchNorm2dImpl(BatchNorm2dOptions(64).momentum(0.01))`.
  explicit BatchNorm2dImpl(const BatchNormOptions& options)
      : BatchNormImpl(2, options.num_features, options) {}
};

/// Holder of a BatchNorm1dImpl: `tg::nn::BatchNorm1d bn(128)`.
class BatchNorm1d : public ModuleHolder<BatchNorm1dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// The designated form: `BatchNorm1d(64, {.eps = 1e-3})`.
  BatchNorm1d(std::int64_t num_features, BatchNormOptions options = {})
      : ModuleHolder(std::make_shared<BatchNorm1dImpl>(num_features, options)) {}
  /// LibTorch's form: `BatchNorm1d(BatchNorm1dOptions(64).eps(1e-3))`.
  explicit BatchNorm1d(const BatchNormOptions& options)
      : ModuleHolder(std::make_shared<BatchNorm1dImpl>(options)) {}
};

/// Holder of a BatchNorm2dImpl: `tg::nn::BatchNorm2d bn(64, {.momentum = 0.01})`.
class BatchNorm2d : public ModuleHolder<BatchNorm2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// The designated form: `BatchNorm2d(64, {.eps = 1e-3})`.
  BatchNorm2d(std::int64_t num_features, BatchNormOptions options = {})
      : ModuleHolder(std::make_shared<BatchNorm2dImpl>(num_features, options)) {}
  /// LibTorch's form: `BatchNorm2d(BatchNorm2dOptions(64).eps(1e-3))`.
  explicit BatchNorm2d(const BatchNormOptions& options)
      : ModuleHolder(std::make_shared<BatchNorm2dImpl>(options)) {}
};

}  // namespace tg::nn
