// The random transforms: parameter draws as torchvision makes them (one generator per sample),
// then the deterministic functional building blocks.
#include "tapegrad/data/transforms.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "tapegrad/autograd/error.hpp"

namespace tg::data::transforms {

namespace F = functional;

namespace {

void check_image(const Tensor& image, const char* who) {
  const auto& s = image.shape();
  TG_CHECK(image.dimension() == 3 && s[0] >= 1 && s[1] >= 1 && s[2] >= 1, who,
           ": expected an image of shape [C, H, W], got ", shape_str(s));
}

void check_probability(float p, const char* who) {
  TG_CHECK(p >= 0 && p <= 1, who, ": expected a probability p in [0, 1], got ", p);
}

void check_size(Size2d size, const char* who) {
  TG_CHECK(size.height >= 1 && size.width >= 1, who, ": expected a size of at least 1x1, got ",
           size.height, "x", size.width);
}

void check_range(Range r, float lowest, const char* who, const char* name) {
  TG_CHECK(std::isfinite(r[0]) && std::isfinite(r[1]) && r[0] <= r[1] && r[0] > lowest, who,
           ": expected ", name, " = {lo, hi} with ", lowest, " < lo <= hi, got {", r[0], ", ", r[1],
           "}");
}

// Python's int(round(x)): halves go to the even neighbour.
std::int64_t round_half_even(double x) { return static_cast<std::int64_t>(std::nearbyint(x)); }

// torch.randint(lo, hi): uniform in [lo, hi).
std::int64_t randint(Generator& gen, std::int64_t lo, std::int64_t hi) {
  return lo + static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(hi - lo)));
}

// A rectangle of `area_fraction` and `aspect` drawn as torchvision draws it (area uniform,
// log-aspect uniform); `aspect_is_w_over_h` picks RandomResizedCrop's or RandomErasing's sense.
std::pair<std::int64_t, std::int64_t> draw_box(Generator& gen, double area, Range scale,
                                               Range ratio, bool aspect_is_w_over_h) {
  const double target = area * gen.uniform(scale[0], scale[1]);
  const double aspect = std::exp(gen.uniform(std::log(ratio[0]), std::log(ratio[1])));
  const std::int64_t a = round_half_even(std::sqrt(target * aspect));
  const std::int64_t b = round_half_even(std::sqrt(target / aspect));
  return aspect_is_w_over_h ? std::pair{b, a} : std::pair{a, b};  // (h, w)
}

}  // namespace

Compose::Compose(std::vector<Transform> steps_) : steps(std::move(steps_)) {
  for (std::size_t i = 0; i < steps.size(); ++i)
    TG_CHECK(static_cast<bool>(steps[i]),
             "Compose: expected callable transforms, got an empty one at ", i);
}

Tensor Compose::operator()(Tensor image, Generator& gen) const {
  for (const auto& step : steps) image = step(std::move(image), gen);
  return image;
}

namespace detail {

void check_normalize(const std::vector<float>& mean, const std::vector<float>& stddev) {
  TG_CHECK(!mean.empty() && mean.size() == stddev.size(),
           "Normalize: expected as many means as standard deviations (at least one), got ",
           mean.size(), " and ", stddev.size());
  for (float s : stddev)
    TG_CHECK(std::isfinite(s) && s != 0, "Normalize: expected non-zero standard deviations, got ",
             s);
}

Tensor normalize(Tensor image, const std::vector<float>& mean, const std::vector<float>& stddev) {
  check_image(image, "Normalize");
  const std::size_t c = image.shape(0), plane = image.shape(1) * image.shape(2);
  TG_CHECK(mean.size() == 1 || mean.size() == c, "Normalize: expected an image with ", mean.size(),
           " channels, got ", shape_str(image.shape()));
  float* p = image.data();
  for (std::size_t k = 0; k < c; ++k) {
    const float m = mean[mean.size() == 1 ? 0 : k], inv = 1.0f / stddev[mean.size() == 1 ? 0 : k];
    for (std::size_t i = 0; i < plane; ++i) p[k * plane + i] = (p[k * plane + i] - m) * inv;
  }
  return image;
}

}  // namespace detail

RandomHorizontalFlip::RandomHorizontalFlip(float p_) : p(p_) {
  check_probability(p, "RandomHorizontalFlip");
}

Tensor RandomHorizontalFlip::operator()(Tensor image, Generator& gen) const {
  check_image(image, "RandomHorizontalFlip");
  return gen.uniform() < p ? F::hflip(image) : image;
}

RandomVerticalFlip::RandomVerticalFlip(float p_) : p(p_) {
  check_probability(p, "RandomVerticalFlip");
}

Tensor RandomVerticalFlip::operator()(Tensor image, Generator& gen) const {
  check_image(image, "RandomVerticalFlip");
  return gen.uniform() < p ? F::vflip(image) : image;
}

RandomCrop::RandomCrop(Size2d size_, std::int64_t padding_) : size(size_), padding(padding_) {
  check_size(size, "RandomCrop");
  TG_CHECK(padding >= 0, "RandomCrop: expected padding >= 0, got ", padding);
}

Tensor RandomCrop::operator()(Tensor image, Generator& gen) const {
  check_image(image, "RandomCrop");
  const auto h = static_cast<std::int64_t>(image.shape(1)) + 2 * padding;
  const auto w = static_cast<std::int64_t>(image.shape(2)) + 2 * padding;
  TG_CHECK(size.height <= h && size.width <= w, "RandomCrop: expected a crop of ", size.height, "x",
           size.width, " to fit in the padded image, got ", shape_str(image.shape()),
           " with padding ", padding);
  // torchvision draws nothing when the crop is the whole padded image.
  const bool whole = size.height == h && size.width == w;
  const std::int64_t top = whole ? 0 : randint(gen, 0, h - size.height + 1);
  const std::int64_t left = whole ? 0 : randint(gen, 0, w - size.width + 1);
  if (whole && padding == 0) return image;
  return F::crop(image, top - padding, left - padding, size.height, size.width);
}

RandomRotation::RandomRotation(float degrees_) : RandomRotation(-degrees_, degrees_) {
  TG_CHECK(degrees_ >= 0, "RandomRotation: expected degrees >= 0, got ", degrees_);
}

RandomRotation::RandomRotation(float min_degrees, float max_degrees)
    : degrees{min_degrees, max_degrees} {
  TG_CHECK(std::isfinite(min_degrees) && std::isfinite(max_degrees) && min_degrees <= max_degrees,
           "RandomRotation: expected degrees {min, max} with min <= max, got {", min_degrees, ", ",
           max_degrees, "}");
}

Tensor RandomRotation::operator()(Tensor image, Generator& gen) const {
  check_image(image, "RandomRotation");
  return F::rotate(image, gen.uniform(degrees[0], degrees[1]));
}

RandomResizedCrop::RandomResizedCrop(Size2d size_, Range scale_, Range ratio_)
    : size(size_), scale(scale_), ratio(ratio_) {
  check_size(size, "RandomResizedCrop");
  check_range(scale, 0, "RandomResizedCrop", "scale");
  check_range(ratio, 0, "RandomResizedCrop", "ratio");
}

Tensor RandomResizedCrop::operator()(Tensor image, Generator& gen) const {
  check_image(image, "RandomResizedCrop");
  const auto h = static_cast<std::int64_t>(image.shape(1)),
             w = static_cast<std::int64_t>(image.shape(2));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const auto [ch, cw] = draw_box(gen, double(h) * double(w), scale, ratio, true);
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
      const std::int64_t top = randint(gen, 0, h - ch + 1), left = randint(gen, 0, w - cw + 1);
      return F::resize(F::crop(image, top, left, ch, cw), size.height, size.width);
    }
  }
  // Fallback: the largest centred crop whose aspect ratio is within `ratio`.
  const double in_ratio = double(w) / double(h);
  std::int64_t cw = w, ch = h;
  if (in_ratio < ratio[0])
    ch = round_half_even(double(w) / ratio[0]);
  else if (in_ratio > ratio[1])
    cw = round_half_even(double(h) * ratio[1]);
  return F::resize(F::crop(image, (h - ch) / 2, (w - cw) / 2, ch, cw), size.height, size.width);
}

Resize::Resize(std::int64_t smaller_side) : size(smaller_side), keep_aspect(true) {
  check_size(size, "Resize");
}

Resize::Resize(Size2d size_) : size(size_), keep_aspect(false) { check_size(size, "Resize"); }

Tensor Resize::operator()(Tensor image, Generator&) const {
  check_image(image, "Resize");
  if (!keep_aspect) return F::resize(image, size.height, size.width);
  // torchvision: the smaller side becomes `size`, the longer one int(size * long / short).
  const auto h = static_cast<std::int64_t>(image.shape(1)),
             w = static_cast<std::int64_t>(image.shape(2));
  const std::int64_t s = size.height;
  if (h <= w) return F::resize(image, s, std::max<std::int64_t>(1, s * w / h));
  return F::resize(image, std::max<std::int64_t>(1, s * h / w), s);
}

CenterCrop::CenterCrop(Size2d size_) : size(size_) { check_size(size, "CenterCrop"); }

Tensor CenterCrop::operator()(Tensor image, Generator&) const {
  check_image(image, "CenterCrop");
  return F::center_crop(image, size.height, size.width);
}

}  // namespace tg::data::transforms
