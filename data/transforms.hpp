#pragma once
// Augmentation with torchvision's semantics and parameter names. Every transform maps an image
// [C, H, W] to a new one and draws its randomness only from the generator it is given (the
// DataLoader derives one per sample from seed, epoch and index), so results are reproducible
// whatever the number of worker threads. Transforms are const: safe to call from many threads.
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

namespace transforms {

/// An output size: one number for a square, or {height, width}.
struct Size2d {
  std::int64_t height = 0, width = 0;
  Size2d(std::int64_t side) : height(side), width(side) {}
  Size2d(std::int64_t h, std::int64_t w) : height(h), width(w) {}
};

/// A closed range [lo, hi] of a random parameter (scale, ratio, degrees).
using Range = std::array<float, 2>;

/// Applies transforms in order.
struct Compose {
  Compose(std::vector<Transform> steps);
  Tensor operator()(Tensor image, Generator& gen) const;
  std::vector<Transform> steps;
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
  /// One mean and standard deviation per channel, or one for every channel.
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
  explicit RandomHorizontalFlip(float p = 0.5f);
  Tensor operator()(Tensor image, Generator& gen) const;
  float p;
};

/// Mirrors top-bottom with probability p.
struct RandomVerticalFlip {
  explicit RandomVerticalFlip(float p = 0.5f);
  Tensor operator()(Tensor image, Generator& gen) const;
  float p;
};

/// Pads every side with `padding` zeros, then crops `size` at a uniformly random position.
struct RandomCrop {
  RandomCrop(Size2d size, std::int64_t padding = 0);
  Tensor operator()(Tensor image, Generator& gen) const;
  Size2d size;
  std::int64_t padding;
};

/// Rotates by an angle drawn uniformly in [-degrees, degrees] (or [min, max]) counter-clockwise
/// about the centre, bilinear, filling with 0 outside the source (size kept).
struct RandomRotation {
  explicit RandomRotation(float degrees);
  RandomRotation(float min_degrees, float max_degrees);
  Tensor operator()(Tensor image, Generator& gen) const;
  Range degrees;
};

/// A crop of random area (fraction in `scale`) and aspect ratio (w/h in `ratio`, drawn
/// log-uniformly), resized to `size` bilinearly; torchvision's 10 tries, then a centre crop.
struct RandomResizedCrop {
  RandomResizedCrop(Size2d size, Range scale = {0.08f, 1.0f}, Range ratio = {3.0f / 4, 4.0f / 3});
  Tensor operator()(Tensor image, Generator& gen) const;
  Size2d size;
  Range scale, ratio;
};

/// Bilinear resize (align_corners = false, no antialiasing): Resize(n) scales the smaller side
/// to n keeping the aspect ratio, Resize({h, w}) gives exactly h x w.
struct Resize {
  explicit Resize(std::int64_t smaller_side);
  explicit Resize(Size2d size);
  Tensor operator()(Tensor image, Generator& gen) const;
  Size2d size;
  bool keep_aspect;
};

/// The centre `size` crop (zero-padded when larger than the image).
struct CenterCrop {
  CenterCrop(Size2d size);
  Tensor operator()(Tensor image, Generator& gen) const;
  Size2d size;
};

/// Random brightness, contrast and saturation, in random order (torchvision): each factor is
/// uniform in [max(0, 1 - x), 1 + x]; brightness scales, contrast blends with the mean of the
/// greyscale image, saturation with the greyscale image; results clamped to [0, 1].
struct ColorJitter {
  ColorJitter(float brightness = 0, float contrast = 0, float saturation = 0);
  Tensor operator()(Tensor image, Generator& gen) const;
  float brightness, contrast, saturation;
};

/// Adds independent normal noise of mean `mean` and standard deviation `stddev` (no clamping).
struct GaussianNoise {
  explicit GaussianNoise(float stddev, float mean = 0);
  Tensor operator()(Tensor image, Generator& gen) const;
  float stddev, mean;
};

/// With probability p, sets a random rectangle (area fraction in `scale`, aspect ratio h/w in
/// `ratio`) of every channel to `value`; torchvision's 10 tries, else unchanged.
struct RandomErasing {
  explicit RandomErasing(float p = 0.5f, Range scale = {0.02f, 0.33f}, Range ratio = {0.3f, 3.3f},
                         float value = 0);
  Tensor operator()(Tensor image, Generator& gen) const;
  float p;
  Range scale, ratio;
  float value;
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
