// The deterministic geometry of the transforms: flips, crops, bilinear resize and rotation,
// as raw loops over contiguous [C, H, W] buffers.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/data/transforms.hpp"

namespace tg::data::transforms::functional {

namespace {

struct Dims {
  std::size_t c, h, w;
};

Dims image_dims(const Tensor& image, const char* who) {
  const auto& s = image.shape();
  TG_CHECK(image.dimension() == 3 && s[0] >= 1 && s[1] >= 1 && s[2] >= 1, who,
           ": expected an image of shape [C, H, W], got ", shape_str(s));
  return {s[0], s[1], s[2]};
}

// Source taps of one output axis of a bilinear resize: PyTorch's upsample_bilinear2d with
// align_corners = false (half-pixel centres, negative positions clamped to 0).
struct Taps {
  std::vector<std::size_t> lo, hi;
  std::vector<float> frac;
};

Taps bilinear_taps(std::size_t in, std::size_t out) {
  Taps taps;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (std::size_t o = 0; o < out; ++o) {
    const float src = std::max(scale * (static_cast<float>(o) + 0.5f) - 0.5f, 0.0f);
    const auto lo = std::min(static_cast<std::size_t>(src), in - 1);
    taps.lo.push_back(lo);
    taps.hi.push_back(std::min(lo + 1, in - 1));
    taps.frac.push_back(src - static_cast<float>(lo));
  }
  return taps;
}

// The in-bounds taps of a bilinear sample at (sx, sy) (grid_sample with zero padding), and
// the sum of their weights.
struct BilinearSample {
  std::size_t offset[4];
  float weight[4];
  int count = 0;
  float mask = 0;
};

BilinearSample bilinear_sample(double sx, double sy, std::size_t h, std::size_t w) {
  BilinearSample s;
  const double x0 = std::floor(sx), y0 = std::floor(sy);
  const auto fx = static_cast<float>(sx - x0), fy = static_cast<float>(sy - y0);
  for (int t = 0; t < 4; ++t) {
    const double tx = x0 + (t & 1), ty = y0 + (t >> 1);
    if (tx < 0 || ty < 0 || tx >= static_cast<double>(w) || ty >= static_cast<double>(h)) continue;
    const float weight = ((t & 1) ? fx : 1 - fx) * ((t >> 1) ? fy : 1 - fy);
    s.offset[s.count] = static_cast<std::size_t>(ty) * w + static_cast<std::size_t>(tx);
    s.weight[s.count++] = weight;
    s.mask += weight;
  }
  return s;
}

}  // namespace

Tensor hflip(const Tensor& image) {
  const auto [c, h, w] = image_dims(image, "hflip");
  Tensor out = empty_tensor(image.shape());
  for (std::size_t row = 0; row < c * h; ++row) {
    const float* src = image.data() + row * w;
    std::reverse_copy(src, src + w, out.data() + row * w);
  }
  return out;
}

Tensor vflip(const Tensor& image) {
  const auto [c, h, w] = image_dims(image, "vflip");
  Tensor out = empty_tensor(image.shape());
  for (std::size_t k = 0; k < c; ++k)
    for (std::size_t y = 0; y < h; ++y) {
      const float* src = image.data() + (k * h + (h - 1 - y)) * w;
      std::copy(src, src + w, out.data() + (k * h + y) * w);
    }
  return out;
}

Tensor crop(const Tensor& image, std::int64_t top, std::int64_t left, std::int64_t height,
            std::int64_t width) {
  const auto [c, h, w] = image_dims(image, "crop");
  TG_CHECK(height >= 1 && width >= 1, "crop: expected a size of at least 1x1, got ", height, "x",
           width);
  Tensor out = empty_tensor({c, std::size_t(height), std::size_t(width)});
  std::fill(out.data(), out.data() + out.size(), 0.0f);
  // The columns of the window that fall inside the image: [x0, x1) in window coordinates.
  const auto sw = static_cast<std::int64_t>(w), sh = static_cast<std::int64_t>(h);
  const std::int64_t x0 = std::clamp<std::int64_t>(-left, 0, width);
  const std::int64_t x1 = std::clamp<std::int64_t>(sw - left, x0, width);
  for (std::size_t k = 0; k < c; ++k)
    for (std::int64_t y = 0; y < height; ++y) {
      const std::int64_t sy = top + y;
      if (sy < 0 || sy >= sh || x1 <= x0) continue;
      const float* src = image.data() + (k * h + std::size_t(sy)) * w + (left + x0);
      std::copy(src, src + (x1 - x0), out.data() + (k * height + y) * width + x0);
    }
  return out;
}

Tensor resize(const Tensor& image, std::int64_t height, std::int64_t width) {
  const auto [c, h, w] = image_dims(image, "resize");
  TG_CHECK(height >= 1 && width >= 1, "resize: expected a size of at least 1x1, got ", height, "x",
           width);
  const std::size_t oh = std::size_t(height), ow = std::size_t(width);
  const Taps ys = bilinear_taps(h, oh), xs = bilinear_taps(w, ow);
  Tensor out = empty_tensor({c, oh, ow});
  for (std::size_t k = 0; k < c; ++k)
    for (std::size_t y = 0; y < oh; ++y) {
      const float* r0 = image.data() + (k * h + ys.lo[y]) * w;
      const float* r1 = image.data() + (k * h + ys.hi[y]) * w;
      const float fy = ys.frac[y];
      float* dst = out.data() + (k * oh + y) * ow;
      for (std::size_t x = 0; x < ow; ++x) {
        const float fx = xs.frac[x];
        const float top = r0[xs.lo[x]] + fx * (r0[xs.hi[x]] - r0[xs.lo[x]]);
        const float bottom = r1[xs.lo[x]] + fx * (r1[xs.hi[x]] - r1[xs.lo[x]]);
        dst[x] = top + fy * (bottom - top);
      }
    }
  return out;
}

Tensor rotate(const Tensor& image, float degrees) {
  const auto [c, h, w] = image_dims(image, "rotate");
  TG_CHECK(std::isfinite(degrees), "rotate: expected a finite angle, got ", degrees);
  const double theta = static_cast<double>(degrees) * std::numbers::pi / 180.0;
  const double cos_t = std::cos(theta), sin_t = std::sin(theta);
  const double cx = (static_cast<double>(w) - 1) / 2, cy = (static_cast<double>(h) - 1) / 2;
  Tensor out = empty_tensor(image.shape());
  const std::size_t plane = h * w;
  for (std::size_t y = 0; y < h; ++y)
    for (std::size_t x = 0; x < w; ++x) {
      // Inverse map of a counter-clockwise rotation (y points down), as torchvision's rotate.
      const double dx = static_cast<double>(x) - cx, dy = static_cast<double>(y) - cy;
      const BilinearSample s =
          bilinear_sample(cos_t * dx - sin_t * dy + cx, sin_t * dx + cos_t * dy + cy, h, w);
      for (std::size_t k = 0; k < c; ++k) {
        const float* src = image.data() + k * plane;
        float sum = 0;
        for (int t = 0; t < s.count; ++t) sum += s.weight[t] * src[s.offset[t]];
        // torchvision (fill = 0) samples a mask of ones alongside and multiplies by it.
        out.data()[k * plane + y * w + x] = sum * s.mask;
      }
    }
  return out;
}

Tensor center_crop(const Tensor& image, std::int64_t height, std::int64_t width) {
  const auto [c, h, w] = image_dims(image, "center_crop");
  (void)c;
  // torchvision: round((H - h) / 2) with Python's round-half-even when cropping; when the crop
  // is larger, (h - H) // 2 zeros go on top.
  const auto offset = [](std::int64_t have, std::int64_t want) {
    if (want > have) return -((want - have) / 2);
    return static_cast<std::int64_t>(std::nearbyint(static_cast<double>(have - want) / 2));
  };
  return crop(image, offset(static_cast<std::int64_t>(h), height),
              offset(static_cast<std::int64_t>(w), width), height, width);
}

}  // namespace tg::data::transforms::functional
