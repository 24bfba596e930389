// The photometric transforms and RandomErasing: per-pixel raw loops on [C, H, W] images.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/data/transforms.hpp"

namespace tg::data::transforms {

namespace {

void check_image(const Tensor& image, const char* who) {
  const auto& s = image.shape();
  TG_CHECK(image.dimension() == 3 && s[0] >= 1 && s[1] >= 1 && s[2] >= 1, who,
           ": expected an image of shape [C, H, W], got ", shape_str(s));
}

// ITU-R 601-2 luma, as torchvision's rgb_to_grayscale: [H*W] from an RGB [3, H, W] image.
std::vector<float> grayscale(const Tensor& image) {
  const std::size_t plane = image.shape(1) * image.shape(2);
  const float* p = image.data();
  std::vector<float> gray(plane);
  for (std::size_t i = 0; i < plane; ++i)
    gray[i] = 0.2989f * p[i] + 0.587f * p[plane + i] + 0.114f * p[2 * plane + i];
  return gray;
}

// torchvision's _blend: clamp(f * image + (1 - f) * other, 0, 1), other per pixel or constant.
void blend(Tensor& image, float factor, const std::vector<float>& other_per_pixel, float other) {
  const std::size_t c = image.shape(0), plane = image.shape(1) * image.shape(2);
  float* p = image.data();
  for (std::size_t k = 0; k < c; ++k)
    for (std::size_t i = 0; i < plane; ++i) {
      const float o = other_per_pixel.empty() ? other : other_per_pixel[i];
      p[k * plane + i] = std::clamp(factor * p[k * plane + i] + (1 - factor) * o, 0.0f, 1.0f);
    }
}

void adjust_contrast(Tensor& image, float factor) {
  const std::size_t plane = image.shape(1) * image.shape(2);
  const auto gray = image.shape(0) == 3 ? grayscale(image)
                                        : std::vector<float>(image.data(), image.data() + plane);
  const float mean = std::accumulate(gray.begin(), gray.end(), 0.0) / static_cast<double>(plane);
  blend(image, factor, {}, mean);
}

float jitter_factor(Generator& gen, float amount) {
  return gen.uniform(std::max(0.0f, 1 - amount), 1 + amount);
}

}  // namespace

ColorJitter::ColorJitter(float brightness_, float contrast_, float saturation_)
    : brightness(brightness_), contrast(contrast_), saturation(saturation_) {
  for (float v : {brightness, contrast, saturation})
    TG_CHECK(std::isfinite(v) && v >= 0, "ColorJitter: expected non-negative amounts, got ", v);
}

Tensor ColorJitter::operator()(Tensor image, Generator& gen) const {
  check_image(image, "ColorJitter");
  TG_CHECK(image.shape(0) == 1 || image.shape(0) == 3,
           "ColorJitter: expected an image of shape [C, H, W] with C = 1 or 3, got ",
           shape_str(image.shape()));
  // torchvision: a random order first, then a factor for each enabled adjustment.
  int order[3] = {0, 1, 2};
  for (int i = 2; i > 0; --i) std::swap(order[i], order[gen.below(std::uint64_t(i) + 1)]);
  const float amounts[3] = {brightness, contrast, saturation};
  float factors[3] = {1, 1, 1};
  for (int k = 0; k < 3; ++k)
    if (amounts[k] > 0) factors[k] = jitter_factor(gen, amounts[k]);
  for (int k : order) {
    if (amounts[k] == 0) continue;
    if (k == 0) blend(image, factors[0], {}, 0.0f);
    if (k == 1) adjust_contrast(image, factors[1]);
    if (k == 2 && image.shape(0) == 3) blend(image, factors[2], grayscale(image), 0.0f);
  }
  return image;
}

GaussianNoise::GaussianNoise(float stddev_, float mean_) : stddev(stddev_), mean(mean_) {
  TG_CHECK(std::isfinite(stddev) && stddev >= 0 && std::isfinite(mean),
           "GaussianNoise: expected a finite mean and a standard deviation >= 0, got mean ", mean,
           " and std ", stddev);
}

Tensor GaussianNoise::operator()(Tensor image, Generator& gen) const {
  check_image(image, "GaussianNoise");
  float* p = image.data();
  for (std::size_t i = 0; i < image.size(); ++i) p[i] += mean + stddev * gen.normal();
  return image;
}

RandomErasing::RandomErasing(float p_, Range scale_, Range ratio_, float value_)
    : p(p_), scale(scale_), ratio(ratio_), value(value_) {
  TG_CHECK(p >= 0 && p <= 1, "RandomErasing: expected a probability p in [0, 1], got ", p);
  TG_CHECK(scale[0] >= 0 && scale[0] <= scale[1] && scale[1] <= 1,
           "RandomErasing: expected scale = {lo, hi} with 0 <= lo <= hi <= 1, got {", scale[0],
           ", ", scale[1], "}");
  TG_CHECK(ratio[0] > 0 && ratio[0] <= ratio[1],
           "RandomErasing: expected ratio = {lo, hi} with "
           "0 < lo <= hi, got {",
           ratio[0], ", ", ratio[1], "}");
}

Tensor RandomErasing::operator()(Tensor image, Generator& gen) const {
  check_image(image, "RandomErasing");
  if (!(gen.uniform() < p)) return image;
  const auto c = image.shape(0), h = image.shape(1), w = image.shape(2);
  for (int attempt = 0; attempt < 10; ++attempt) {
    // torchvision: area uniform in scale, aspect ratio (h / w) log-uniform in ratio.
    const double area = double(h) * double(w) * gen.uniform(scale[0], scale[1]);
    const double aspect = std::exp(gen.uniform(std::log(ratio[0]), std::log(ratio[1])));
    const auto eh = static_cast<std::size_t>(std::nearbyint(std::sqrt(area * aspect)));
    const auto ew = static_cast<std::size_t>(std::nearbyint(std::sqrt(area / aspect)));
    if (!(eh < h && ew < w)) continue;
    const std::size_t top = gen.below(h - eh + 1), left = gen.below(w - ew + 1);
    for (std::size_t k = 0; k < c; ++k)
      for (std::size_t y = top; y < top + eh; ++y)
        std::fill_n(image.data() + (k * h + y) * w + left, ew, value);
    return image;
  }
  return image;
}

}  // namespace tg::data::transforms
