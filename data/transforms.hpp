#pragma once
/// @file
/// Augmentation with torchvision's semantics and parameter names. Every transform maps an image
/// [C, H, W] to a new one and draws its randomness only from the generator it is given (the
/// DataLoader derives one per sample from seed, epoch and index), so results are reproducible
/// whatever the number of worker threads. Transforms are const: safe to call from many threads.
#include <array>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "tapegrad/autograd/random.hpp"
#include "tapegrad/autograd/tensor.hpp"

namespace tg::data {

/// An augmentation step: Tensor(Tensor image [C, H, W], Generator& gen).
using Transform = std::function<Tensor(Tensor image, Generator& gen)>;

/// Augmentation of one image (torchvision.transforms) and of a batch (transforms.v2's MixUp
/// and CutMix).
namespace transforms {

/// An output size: one number for a square, or {height, width}.
struct Size2d {
  ///@{
  /// In pixels.
  std::int64_t height = 0, width = 0;
  ///@}
  /// A side x side square.
  Size2d(std::int64_t side) : height(side), width(side) {}
  /// h x w.
  Size2d(std::int64_t h, std::int64_t w) : height(h), width(w) {}
};

/// A closed range [lo, hi] of a random parameter (scale, ratio, degrees).
using Range = std::array<float, 2>;

/// Applies transforms in order.
struct Compose {
  /// The steps, in order (an empty std::function throws tg::Error).
  Compose(std::vector<Transform> steps);
  /// The transformed image; one that is not [C, H, W] with every size >= 1 throws tg::Error.
  Tensor operator()(Tensor image, Generator& gen) const;
  std::vector<Transform> steps;  ///< applied first to last
};

namespace detail {
/// Throws tg::Error unless mean and stddev have the same size (>= 1) and no stddev is 0 or
/// not finite.
void check_normalize(const std::vector<float>& mean, const std::vector<float>& stddev);
/// (image - mean[c]) / stddev[c] per channel of an image [C, H, W], in place.
Tensor normalize(Tensor image, const std::vector<float>& mean, const std::vector<float>& stddev);
}  // namespace detail

/// (x - mean[c]) / std[c] per channel; one value applies to every channel. Both torchvision's
/// form, a Transform of an image (`Normalize({0.5f}, {0.25f})`, the template argument left to
/// its default), and LibTorch's, a map of a dataset's examples
/// (`dataset.map(Normalize<>(0.1307, 0.3081))`, which normalises `data` and keeps `target`).
/// Target is LibTorch's template argument; any example with a Tensor `data` is accepted.
template <class Target = std::int64_t>
struct Normalize {
  /// One mean and one non-zero standard deviation per channel (or one for all), else tg::Error.
  Normalize(std::vector<float> mean_, std::vector<float> stddev_)
      : mean(std::move(mean_)), stddev(std::move(stddev_)) {
    detail::check_normalize(mean, stddev);
  }
  /// One mean and standard deviation for every channel (LibTorch's Normalize<>(0.1307, 0.3081)).
  Normalize(double mean_, double stddev_) : Normalize(std::vector<float>{float(mean_)}, std::vector<float>{float(stddev_)}) {}
  /// The image [C, H, W] normalised (a Transform; `gen` is not used).
  Tensor operator()(Tensor image, Generator& /*gen*/) const { return detail::normalize(std::move(image), mean, stddev); }
  /// The example with its `data` [C, H, W] normalised (LibTorch's Transform::apply).
  template <class Example>
  Example apply(Example example) const {
    example.data = detail::normalize(std::move(example.data), mean, stddev);
    return example;
  }
  std::vector<float> mean;    ///< per channel, or one for all
  std::vector<float> stddev;  ///< per channel, or one for all
};

/// Mirrors left-right with probability p.
struct RandomHorizontalFlip {
  /// p in [0, 1], else tg::Error.
  explicit RandomHorizontalFlip(float p = 0.5f);
  /// The transformed image; one that is not [C, H, W] with every size >= 1 throws tg::Error.
  Tensor operator()(Tensor image, Generator& gen) const;
  float p;  ///< probability of flipping
};

/// Mirrors top-bottom with probability p.
struct RandomVerticalFlip {
  /// p in [0, 1], else tg::Error.
  explicit RandomVerticalFlip(float p = 0.5f);
  /// The transformed image; one that is not [C, H, W] with every size >= 1 throws tg::Error.
  Tensor operator()(Tensor image, Generator& gen) const;
  float p;  ///< probability of flipping
};

/// Pads every side with `padding` zeros, then crops `size` at a uniformly random position.
struct RandomCrop {
  /// Crop size in pixels (at most the padded image's, checked per image) and padding >= 0.
  RandomCrop(Size2d size, std::int64_t padding = 0);
  /// The transformed image; one that is not [C, H, W] with every size >= 1 throws tg::Error.
  Tensor operator()(Tensor image, Generator& gen) const;
  Size2d size;           ///< of the crop
  std::int64_t padding;  ///< zeros added on each side first
};

/// Rotates by an angle drawn uniformly in [-degrees, degrees] (or [min, max]) counter-clockwise
/// about the centre, bilinear, filling with 0 outside the source (size kept).
struct RandomRotation {
  /// Angles in [-degrees, degrees], degrees >= 0 (else tg::Error).
  explicit RandomRotation(float degrees);
  /// Angles in [min_degrees, max_degrees], min <= max.
  RandomRotation(float min_degrees, float max_degrees);
  /// The transformed image; one that is not [C, H, W] with every size >= 1 throws tg::Error.
  Tensor operator()(Tensor image, Generator& gen) const;
  Range degrees;  ///< [min, max] in degrees, counter-clockwise positive
};

/// A crop of random area (fraction in `scale`) and aspect ratio (w/h in `ratio`, drawn
/// log-uniformly), resized to `size` bilinearly; torchvision's 10 tries, then a centre crop.
struct RandomResizedCrop {
  /// torchvision's defaults; empty or inverted ranges throw tg::Error.
  RandomResizedCrop(Size2d size, Range scale = {0.08f, 1.0f}, Range ratio = {3.0f / 4, 4.0f / 3});
  /// The transformed image; one that is not [C, H, W] with every size >= 1 throws tg::Error.
  Tensor operator()(Tensor image, Generator& gen) const;
  Size2d size;  ///< of the result
  ///@{
  /// Area fraction and aspect-ratio (w/h) ranges of the crop.
  Range scale, ratio;
  ///@}
};

/// Bilinear resize (align_corners = false, no antialiasing): Resize(n) scales the smaller side
/// to n keeping the aspect ratio, Resize({h, w}) gives exactly h x w.
struct Resize {
  /// The smaller side to `smaller_side` pixels, the aspect ratio kept.
  explicit Resize(std::int64_t smaller_side);
  /// Exactly size.height x size.width.
  explicit Resize(Size2d size);
  /// The transformed image; one that is not [C, H, W] with every size >= 1 throws tg::Error.
  Tensor operator()(Tensor image, Generator& gen) const;
  Size2d size;       ///< the target (height holds the smaller side when keep_aspect)
  bool keep_aspect;  ///< built from one number
};

/// The centre `size` crop (zero-padded when larger than the image).
struct CenterCrop {
  /// A crop of `size` pixels.
  CenterCrop(Size2d size);
  /// The transformed image; one that is not [C, H, W] with every size >= 1 throws tg::Error.
  Tensor operator()(Tensor image, Generator& gen) const;
  Size2d size;  ///< of the crop
};

/// Random brightness, contrast and saturation, in random order (torchvision): each factor is
/// uniform in [max(0, 1 - x), 1 + x]; brightness scales, contrast blends with the mean of the
/// greyscale image, saturation with the greyscale image; results clamped to [0, 1].
struct ColorJitter {
  /// Amounts >= 0 (0: that property unchanged); images need 1 or 3 channels.
  ColorJitter(float brightness = 0, float contrast = 0, float saturation = 0);
  /// The transformed image; one that is not [C, H, W] with every size >= 1 throws tg::Error.
  Tensor operator()(Tensor image, Generator& gen) const;
  ///@{
  /// The amounts x of each jitter.
  float brightness, contrast, saturation;
  ///@}
};

/// Adds independent normal noise of mean `mean` and standard deviation `stddev` (no clamping).
struct GaussianNoise {
  /// stddev >= 0 and both finite, else tg::Error.
  explicit GaussianNoise(float stddev, float mean = 0);
  /// The transformed image; one that is not [C, H, W] with every size >= 1 throws tg::Error.
  Tensor operator()(Tensor image, Generator& gen) const;
  ///@{
  /// Of the noise, in the image's units.
  float stddev, mean;
  ///@}
};

/// With probability p, sets a random rectangle (area fraction in `scale`, aspect ratio h/w in
/// `ratio`) of every channel to `value`; torchvision's 10 tries, else unchanged.
struct RandomErasing {
  /// torchvision's defaults; p outside [0, 1] or bad ranges throw tg::Error.
  explicit RandomErasing(float p = 0.5f, Range scale = {0.02f, 0.33f}, Range ratio = {0.3f, 3.3f},
                         float value = 0);
  /// The transformed image; one that is not [C, H, W] with every size >= 1 throws tg::Error.
  Tensor operator()(Tensor image, Generator& gen) const;
  float p;  ///< probability of erasing
  ///@{
  /// Area fraction and aspect-ratio (h/w) ranges of the rectangle.
  Range scale, ratio;
  ///@}
  float value;  ///< what the rectangle is set to
};

/// Deterministic building blocks (torchvision.transforms.functional), on [C, H, W] images.
namespace functional {
/// Mirrors left-right.
Tensor hflip(const Tensor& image);
/// Mirrors top-bottom.
Tensor vflip(const Tensor& image);
/// The height x width window whose top-left corner is (top, left); outside the image is 0.
Tensor crop(const Tensor& image, std::int64_t top, std::int64_t left, std::int64_t height,
            std::int64_t width);
/// Bilinear resize to height x width (align_corners = false, edge samples clamped).
Tensor resize(const Tensor& image, std::int64_t height, std::int64_t width);
/// Counter-clockwise rotation by `degrees` about the centre, bilinear, 0 outside.
Tensor rotate(const Tensor& image, float degrees);
/// The centre height x width crop (zero-padded when larger).
Tensor center_crop(const Tensor& image, std::int64_t height, std::int64_t width);
}  // namespace functional

}  // namespace transforms
}  // namespace tg::data
