#include "tapegrad/data/batch_transforms.hpp"

#include <algorithm>
#include <cmath>

#include "tapegrad/autograd/error.hpp"

namespace tg::data::transforms {

namespace {

// Gamma(shape, 1): Marsaglia and Tsang's squeeze method for shape >= 1; below 1 through
// Gamma(shape + 1) * U^(1/shape).
float sample_gamma(float shape, Generator& gen) {
  if (shape < 1.0f) {
    const float u = std::max(gen.uniform(), 1e-30f);
    return sample_gamma(shape + 1.0f, gen) * std::pow(u, 1.0f / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = 0.0, v = 0.0;
    do {
      x = gen.normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = gen.uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return static_cast<float>(d * v);
    if (u > 0.0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return static_cast<float>(d * v);
  }
}

struct BatchDims {
  std::size_t n, per_image, h, w;
};

BatchDims check_batch(const char* who, const Batch& batch, std::int64_t num_classes) {
  const Shape& s = batch.data.shape();
  TG_CHECK(s.size() == 4, who, ": expected images [N, C, H, W], got ", shape_str(s));
  TG_CHECK(batch.target.dimension() == 1 && batch.target.size() == s[0], who,
           ": expected labels [", s[0], "] (one per image), got ", shape_str(batch.target.shape()));
  for (std::size_t i = 0; i < batch.target.size(); ++i)
    TG_CHECK(batch.target.data()[i] >= 0 && batch.target.data()[i] < num_classes, who,
             ": expected labels in [0, ", num_classes, "), got ", batch.target.data()[i], " at index ", i,
             " (num_classes is ", num_classes, ")");
  return {s[0], s[1] * s[2] * s[3], s[2], s[3]};
}

void check_options(const char* who, std::int64_t num_classes, float alpha) {
  TG_CHECK(num_classes >= 1, who, ": expected num_classes >= 1, got ", num_classes);
  TG_CHECK(alpha > 0.0f && std::isfinite(alpha), who, ": expected alpha > 0, got ", alpha);
}

// lam * one_hot(labels) + (1 - lam) * one_hot(labels rolled by one).
Tensor mixed_labels(const Labels& labels, std::int64_t num_classes, float lam) {
  const Tensor hot = one_hot(labels, num_classes);
  Tensor out = empty_tensor(hot.shape());
  const std::size_t n = labels.size(), c = static_cast<std::size_t>(num_classes);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t prev = (i + n - 1) % n;  // roll(1, 0): row i receives row i - 1
    for (std::size_t j = 0; j < c; ++j)
      out.data()[i * c + j] = lam * hot.data()[i * c + j] + (1.0f - lam) * hot.data()[prev * c + j];
  }
  return out;
}

}  // namespace

float sample_beta(float a, float b, Generator& gen) {
  TG_CHECK(a > 0.0f && b > 0.0f, "sample_beta: expected a, b > 0, got ", a, ", ", b);
  const float x = sample_gamma(a, gen), y = sample_gamma(b, gen);
  return x + y > 0.0f ? x / (x + y) : 0.5f;  // both underflowed: tiny a = b, symmetric
}

Tensor one_hot(const Labels& labels, std::int64_t num_classes) {
  const std::size_t n = labels.size(), c = static_cast<std::size_t>(num_classes);
  Tensor out = filled({n, c}, 0.0f);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t label = labels.data()[i];
    TG_CHECK(label >= 0 && label < num_classes, "one_hot: expected labels in [0, ", num_classes, "), got ",
             label, " at index ", i);
    out.data()[i * c + static_cast<std::size_t>(label)] = 1.0f;
  }
  return out;
}

MixUp::MixUp(std::int64_t classes, float a) : num_classes(classes), alpha(a) {
  check_options("MixUp", num_classes, alpha);
}

SoftBatch MixUp::operator()(const Batch& batch, Generator& gen) const {
  return apply(batch, sample_beta(alpha, alpha, gen));
}

SoftBatch MixUp::apply(const Batch& batch, float lam) const {
  const BatchDims d = check_batch("MixUp", batch, num_classes);
  TG_CHECK(lam >= 0.0f && lam <= 1.0f, "MixUp: expected lam in [0, 1], got ", lam);
  const Tensor& x = batch.data.value();
  Tensor out = empty_tensor(x.shape());
  for (std::size_t i = 0; i < d.n; ++i) {
    const float* self = x.data() + i * d.per_image;
    const float* prev = x.data() + ((i + d.n - 1) % d.n) * d.per_image;
    float* o = out.data() + i * d.per_image;
    for (std::size_t k = 0; k < d.per_image; ++k) o[k] = lam * self[k] + (1.0f - lam) * prev[k];
  }
  return {Variable(std::move(out)), Variable(mixed_labels(batch.target, num_classes, lam))};
}

CutMix::CutMix(std::int64_t classes, float a) : num_classes(classes), alpha(a) {
  check_options("CutMix", num_classes, alpha);
}

SoftBatch CutMix::operator()(const Batch& batch, Generator& gen) const {
  const BatchDims d = check_batch("CutMix", batch, num_classes);
  const float lam = sample_beta(alpha, alpha, gen);
  const auto w = static_cast<std::int64_t>(d.w), h = static_cast<std::int64_t>(d.h);
  const auto rx = static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(w)));
  const auto ry = static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(h)));
  const double r = 0.5 * std::sqrt(1.0 - lam);
  const auto half_w = static_cast<std::int64_t>(r * static_cast<double>(w));
  const auto half_h = static_cast<std::int64_t>(r * static_cast<double>(h));
  return apply(batch, {std::max<std::int64_t>(rx - half_w, 0), std::max<std::int64_t>(ry - half_h, 0),
                       std::min(rx + half_w, w), std::min(ry + half_h, h)});
}

SoftBatch CutMix::apply(const Batch& batch, Box box) const {
  const BatchDims d = check_batch("CutMix", batch, num_classes);
  const auto w = static_cast<std::int64_t>(d.w), h = static_cast<std::int64_t>(d.h);
  TG_CHECK(0 <= box.x1 && box.x1 <= box.x2 && box.x2 <= w && 0 <= box.y1 && box.y1 <= box.y2 && box.y2 <= h,
           "CutMix: expected a box inside the ", h, " x ", w, " image, got x ", box.x1, "..", box.x2, ", y ",
           box.y1, "..", box.y2);
  const Tensor& x = batch.data.value();
  Tensor out = x;
  const std::size_t planes = d.per_image / (d.h * d.w);
  for (std::size_t i = 0; i < d.n; ++i) {
    const std::size_t prev = (i + d.n - 1) % d.n;
    for (std::size_t p = 0; p < planes; ++p)
      for (auto y = box.y1; y < box.y2; ++y) {
        const std::size_t row = (p * d.h + static_cast<std::size_t>(y)) * d.w;
        std::copy(x.data() + prev * d.per_image + row + box.x1, x.data() + prev * d.per_image + row + box.x2,
                  out.data() + i * d.per_image + row + box.x1);
      }
  }
  const float kept = 1.0f - static_cast<float>((box.x2 - box.x1) * (box.y2 - box.y1)) / static_cast<float>(w * h);
  return {Variable(std::move(out)), Variable(mixed_labels(batch.target, num_classes, kept))};
}

RandomChoice::RandomChoice(std::vector<BatchTransform> c) : choices(std::move(c)) {
  TG_CHECK(!choices.empty(), "RandomChoice: expected at least one transform, got none");
}

SoftBatch RandomChoice::operator()(const Batch& batch, Generator& gen) const {
  return choices[static_cast<std::size_t>(gen.below(choices.size()))](batch, gen);
}

}  // namespace tg::data::transforms
