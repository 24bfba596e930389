#pragma once
/// @file
/// Linear, Identity and Flatten (torch.nn.Linear, Identity, Flatten).
#include "tapegrad/nn/module.hpp"

namespace tg::nn {

/// y = x W^T + b, x [..., in_features]; weight [out, in] and bias [out] drawn from
/// U(-1/sqrt(in), 1/sqrt(in)) as PyTorch's reset_parameters does.
class LinearImpl : public Layer {
 public:
  /// Sizes of x's last dimension and of y's; bias false: no bias. Sizes < 1 throw tg::Error.
  LinearImpl(std::int64_t in_features, std::int64_t out_features, bool bias = true);
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
};

}  // namespace tg::nn
