#include "examples/common/tta.hpp"

#include <algorithm>
#include <optional>

#include <tapegrad/autograd/autograd.hpp>

namespace tg::examples {

Tensor hflip_batch(const Tensor& images) {
  TG_CHECK(images.dimension() == 4, "hflip_batch: expected images [N, C, H, W], got ", shape_str(images.shape()));
  Tensor out = images;
  const std::size_t w = images.shape()[3];
  for (std::size_t row = 0; row < images.size() / std::max<std::size_t>(w, 1); ++row)
    std::reverse(out.data() + row * w, out.data() + (row + 1) * w);
  return out;
}

Tensor shift_batch(const Tensor& images, int dx, int dy, const std::vector<float>& fill) {
  TG_CHECK(images.dimension() == 4, "shift_batch: expected images [N, C, H, W], got ", shape_str(images.shape()));
  const auto n = std::ptrdiff_t(images.shape()[0]), channels = std::ptrdiff_t(images.shape()[1]);
  const auto h = std::ptrdiff_t(images.shape()[2]), w = std::ptrdiff_t(images.shape()[3]);
  TG_CHECK(std::ptrdiff_t(fill.size()) == channels, "shift_batch: expected a fill value per channel (",
           channels, " for images ", shape_str(images.shape()), "), got ", fill.size());
  Tensor out = images;
  // Per row: the fill, then the source row's overlapping span (memory order, so each row is
  // one copy and two fills).
  const std::ptrdiff_t first = std::clamp<std::ptrdiff_t>(dx, 0, w), last = std::clamp<std::ptrdiff_t>(w + dx, 0, w);
  for (std::ptrdiff_t plane = 0; plane < n * channels; ++plane) {
    const float value = fill[std::size_t(plane % channels)];
    const float* src = images.data() + plane * h * w;
    float* dst = out.data() + plane * h * w;
    for (std::ptrdiff_t y = 0; y < h; ++y) {
      float* row = dst + y * w;
      const std::ptrdiff_t source_row = y - dy;
      if (source_row < 0 || source_row >= h || first >= last) {
        std::fill(row, row + w, value);
        continue;
      }
      std::fill(row, row + first, value);
      std::copy(src + source_row * w + first - dx, src + source_row * w + last - dx, row + first);
      std::fill(row + last, row + w, value);
    }
  }
  return out;
}

int view_count(const TtaViews& views) { return (2 * views.shift + 1) * (2 * views.shift + 1) * (views.flip ? 2 : 1); }

std::function<Variable(const Variable&)> with_tta(std::function<Variable(const Variable&)> forward, TtaViews views) {
  TG_CHECK(views.shift >= 0, "test-time augmentation: expected a shift >= 0 pixels, got ", views.shift);
  return [forward = std::move(forward), views = std::move(views)](const Variable& x) {
    NoGradGuard no_grad;
    std::optional<Tensor> sum;
    const auto add = [&](const Variable& view) {
      Tensor logits = forward(view).value();
      if (sum) *sum += logits; else sum = std::move(logits);
    };
    for (int dy = -views.shift; dy <= views.shift; ++dy)
      for (int dx = -views.shift; dx <= views.shift; ++dx) {
        const Variable shifted = dx == 0 && dy == 0 ? x : Variable(shift_batch(x.value(), dx, dy, views.fill));
        add(shifted);
        if (views.flip) add(Variable(hflip_batch(shifted.value())));
      }
    return Variable(Tensor(*sum / float(view_count(views))));
  };
}

}  // namespace tg::examples
