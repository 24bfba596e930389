#pragma once
// Dropout2d (torch.nn.Dropout2d): channel dropout for convolutional feature maps.
#include "tapegrad/nn/module.hpp"

namespace tg::nn {

/// LibTorch's Dropout2dOptions as an aggregate: `Dropout2d({.p = 0.2})`.
struct Dropout2dOptions {
  double p = 0.5;        ///< probability of zeroing a channel, in [0, 1]
  bool inplace = false;  ///< accepted for LibTorch's sake; the result is always a new tensor
};

/// Training: zeroes each whole channel x[n, c] of x [N, C, H, W] with probability p and scales
/// the others by 1/(1-p) (tg::dropout2d); eval: identity. Draws from tg::default_generator().
class Dropout2dImpl : public Layer {
 public:
  /// Throws tg::Error for p outside [0, 1].
  explicit Dropout2dImpl(Dropout2dOptions options = {});
  /// x [N, C, H, W]; throws tg::Error for any other rank.
  Variable forward(const Variable& x) override;
  /// "Dropout2d".
  std::string name() const override { return "Dropout2d"; }
  /// "p=0.5, inplace=False", as PyTorch prints it.
  std::string extra_repr() const override;
  Dropout2dOptions options;  ///< as given to the constructor
};

/// Holder of a Dropout2dImpl: `tg::nn::Dropout2d drop{{.p = 0.25}}` or `Dropout2d(0.25)`.
class Dropout2d : public ModuleHolder<Dropout2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// Channel dropout with these options.
  Dropout2d(Dropout2dOptions options = {})
      : ModuleHolder(std::make_shared<Dropout2dImpl>(options)) {}
  /// Channel dropout with probability p, as LibTorch's `Dropout2d(0.25)`.
  Dropout2d(double p) : ModuleHolder(std::make_shared<Dropout2dImpl>(Dropout2dOptions{p})) {}
};

}  // namespace tg::nn
