#pragma once
// Resizing images (PyTorch's interpolate): nearest and bilinear, NCHW.
#include <optional>
#include <vector>

#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// How interpolate computes an output pixel.
enum class InterpolateMode {
  Nearest,   ///< the input pixel at floor(out_index * scale) (PyTorch's "nearest")
  Bilinear,  ///< a weighted mean of the four nearest input pixels
};
/// LibTorch's spelling: `.mode = tg::kNearest`.
inline constexpr InterpolateMode kNearest = InterpolateMode::Nearest;
/// LibTorch's spelling: `.mode = tg::kBilinear`.
inline constexpr InterpolateMode kBilinear = InterpolateMode::Bilinear;

/// LibTorch's InterpolateFuncOptions as an aggregate:
/// `{.size = {64, 64}, .mode = tg::kBilinear, .align_corners = false}` or
/// `{.scale_factor = {2.0}}`. Exactly one of size and scale_factor is given.
struct InterpolateFuncOptions {
  /// Output (height, width), or one value for both; empty when scale_factor is given.
  std::vector<std::int64_t> size{};
  /// Factors (height, width), or one for both, > 0; the output is floor(input * factor).
  /// As PyTorch without recompute_scale_factor, the factor itself maps output pixels back.
  std::vector<double> scale_factor{};
  InterpolateMode mode = InterpolateMode::Nearest;  ///< nearest (the default) or bilinear
  /// Bilinear only: true maps the corner pixels' centres onto each other, false (the default
  /// when unset) maps the corners of the image; must stay unset with nearest, as in PyTorch.
  std::optional<bool> align_corners{};
};

/// torch.nn.functional.interpolate for images: x [N, C, H, W] -> [N, C, Ho, Wo]. Differentiable
/// in x (the backward pass adds each output gradient back onto the pixels it was read from).
/// Throws tg::Error for an input that is not 4-D, neither or both of size and scale_factor,
/// non-positive sizes or factors, or align_corners with nearest.
Variable interpolate(const Variable& x, const InterpolateFuncOptions& options);

}  // namespace tg
