#pragma once
// Upsample (torch.nn.Upsample): resizing feature maps by nearest or bilinear interpolation.
#include <optional>
#include <vector>

#include "tapegrad/autograd/interpolate.hpp"
#include "tapegrad/nn/module.hpp"

namespace tg::nn {

/// LibTorch's UpsampleOptions as an aggregate:
/// `Upsample({.scale_factor = {2.0}, .mode = tg::kBilinear, .align_corners = false})`.
struct UpsampleOptions {
  std::vector<std::int64_t> size{};   ///< output (height, width) or one value for both
  std::vector<double> scale_factor{};  ///< or factors (height, width), or one for both
  InterpolateMode mode = InterpolateMode::Nearest;  ///< nearest (default) or bilinear
  std::optional<bool> align_corners{};  ///< bilinear only; unset means false
};

/// x [N, C, H, W] -> [N, C, Ho, Wo] through tg::interpolate with these options.
class UpsampleImpl : public Layer {
 public:
  /// Throws tg::Error unless exactly one of size and scale_factor is given, or for
  /// align_corners with nearest.
  explicit UpsampleImpl(UpsampleOptions options = {});
  /// interpolate(x, options); throws tg::Error for an input that is not 4-D.
  Variable forward(const Variable& x) override;
  /// "Upsample".
  std::string name() const override { return "Upsample"; }
  /// PyTorch's repr: "scale_factor=2.0, mode='nearest'" or "size=(5, 7), mode='bilinear'".
  std::string extra_repr() const override;
  UpsampleOptions options;  ///< as given to the constructor
};

/// Holder of an UpsampleImpl: `tg::nn::Upsample up{{.scale_factor = {2.0}}}`.
class Upsample : public ModuleHolder<UpsampleImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// Resizing with these options.
  Upsample(UpsampleOptions options = {})
      : ModuleHolder(std::make_shared<UpsampleImpl>(std::move(options))) {}
};

}  // namespace tg::nn
