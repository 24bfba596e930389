#include "examples/common/tta.hpp"

#include <algorithm>

#include "autograd/autograd.hpp"

namespace tg::examples {

Tensor hflip_batch(const Tensor& images) {
  TG_CHECK(images.dimension() == 4, "hflip_batch: expected images [N, C, H, W], got ", shape_str(images.shape()));
  Tensor out = images;
  const std::size_t w = images.shape()[3];
  for (std::size_t row = 0; row < images.size() / std::max<std::size_t>(w, 1); ++row)
    std::reverse(out.data() + row * w, out.data() + (row + 1) * w);
  return out;
}

std::function<Variable(const Variable&)> with_flip_tta(std::function<Variable(const Variable&)> forward) {
  return [forward = std::move(forward)](const Variable& x) {
    NoGradGuard no_grad;
    Tensor sum = forward(x).value();
    sum += forward(Variable(hflip_batch(x.value()))).value();
    return Variable(Tensor(sum * 0.5f));
  };
}

}  // namespace tg::examples
