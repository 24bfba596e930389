#pragma once
// PyTorch-derived reference arrays for the transposed convolution, the added losses and
// interpolate (made by make_layers_golden.py, see there how): golden::layers("ct_plain.y").
#include "autograd/golden/golden.hpp"

namespace tg::golden {

namespace layers_data {
#include "autograd/golden/layers_golden.inc"
}  // namespace layers_data

/// The array called `name` as a tensor (fails the test if there is none).
inline Tensor layers(const std::string& name) {
  for (const Entry& e : layers_data::entries)
    if (name == e.name) {
      Tensor t = empty_tensor(Shape(e.shape.begin(), e.shape.begin() + e.dims));
      REQUIRE(t.size() == e.count);
      std::copy(e.values, e.values + e.count, t.data());
      return t;
    }
  FAIL("no golden array called ", name);
  return Tensor();
}

}  // namespace tg::golden
