#pragma once
/// @file
/// Linear, Identity and Flatten (torch.nn.Linear, Identity, Flatten).
#include "tapegrad/autograd/arg.hpp"
#include "tapegrad/nn/module.hpp"

namespace tg::nn {

/// Linear's options (torch::nn::LinearOptions): `Linear(LinearOptions(784, 10).bias(false))`;
/// each field reads as a value and as LibTorch's getter (tapegrad/autograd/arg.hpp).
struct LinearOptions {
  /// Size of each input's last dimension (LibTorch's first positional argument).
  TG_ARG(LinearOptions, in_features, std::int64_t) = 0;
  /// Size of each output's last dimension (LibTorch's second positional argument).
  TG_ARG(LinearOptions, out_features, std::int64_t) = 0;
  /// Whether the layer has a bias [out_features].
  TG_ARG(LinearOptions, bias, bool) = true;
};

/// Flatten's options (torch::nn::FlattenOptions): `Flatten(FlattenOptions().start_dim(2))`.
struct FlattenOptions {
  /// First dimension flattened.
  TG_ARG(FlattenOptions, start_dim, std::int64_t) = 1;
  /// Last dimension flattened (-1: the last).
  TG_ARG(FlattenOptions, end_dim, std::int64_t) = -1;
};

/// y = x W^T + b, x [..., in_features]; weight [out, in] and bias [out] drawn from
/// U(-1/sqrt(in), 1/sqrt(in)) as PyTorch's reset_parameters does.
class LinearImpl : public Layer {
 public:
  /// Sizes of x's last dimension and of y's; bias false: no bias. Sizes < 1 throw tg::Error.
  LinearImpl(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  /// LibTorch's form: `LinearImpl(LinearOptions(784, 10).bias(false))`.
  explicit LinearImpl(const LinearOptions& options)
      : LinearImpl(options.in_features, options.out_features, options.bias) {}
  Variable forward(const Variable& x) override;
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override;
  std::uint64_t multiply_adds(const Shape& in, const Shape& out) const override;
  /// Redraws weight and bias with PyTorch's default initialisation.
  void reset_parameters();

  ///@{
  /// The sizes as constructed.
  std::int64_t in_features, out_features;
  ///@}
  LinearOptions options;  ///< the arguments the layer was built with (LibTorch's `options`)
  ///@{
  /// weight [out_features, in_features]; bias [out_features], undefined when built without one.
  Variable weight, bias;
  ///@}
};

/// Holder of a LinearImpl: `tg::nn::Linear fc{250, 32}; y = fc(x); fc->weight`.
class Linear : public ModuleHolder<LinearImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new LinearImpl with these arguments.
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true)
      : ModuleHolder(std::make_shared<LinearImpl>(in_features, out_features, bias)) {}
  /// LibTorch's form: `Linear(LinearOptions(784, 10).bias(false))`.
  explicit Linear(const LinearOptions& options)
      : ModuleHolder(std::make_shared<LinearImpl>(options)) {}
};

/// Returns its input.
class IdentityImpl : public Layer {
 public:
  Variable forward(const Variable& x) override { return x; }
  std::string name() const override { return "Identity"; }
};

/// Holder of an IdentityImpl (a placeholder layer, as torch.nn.Identity).
class Identity : public ModuleHolder<IdentityImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new Identity.
  Identity() : ModuleHolder(std::make_shared<IdentityImpl>()) {}
};

/// x.flatten(start_dim, end_dim): [N, C, H, W] -> [N, C*H*W] by default.
class FlattenImpl : public Layer {
 public:
  /// Merges dimensions start_dim..end_dim (negative count from the end).
  explicit FlattenImpl(std::int64_t start_dim = 1, std::int64_t end_dim = -1)
      : start_dim(start_dim), end_dim(end_dim) {}
  /// LibTorch's form: `FlattenImpl(FlattenOptions().start_dim(2))`.
  explicit FlattenImpl(const FlattenOptions& options)
      : FlattenImpl(options.start_dim, options.end_dim) {}
  Variable forward(const Variable& x) override { return x.flatten(start_dim, end_dim); }
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override;

  ///@{
  /// First and last dimension merged.
  std::int64_t start_dim, end_dim;
  ///@}
};

/// Holder of a FlattenImpl: `tg::nn::Flatten flatten; flatten(x)` is [N, C*H*W].
class Flatten : public ModuleHolder<FlattenImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new Flatten of dimensions start_dim..end_dim.
  Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1)
      : ModuleHolder(std::make_shared<FlattenImpl>(start_dim, end_dim)) {}
  /// LibTorch's form: `Flatten(FlattenOptions().start_dim(2))`.
  explicit Flatten(const FlattenOptions& options)
      : ModuleHolder(std::make_shared<FlattenImpl>(options)) {}
};

}  // namespace tg::nn
