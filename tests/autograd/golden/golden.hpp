#pragma once
// PyTorch-derived reference arrays for the CNN op tests (made by make_golden.py, see there how):
// golden::tensor("conv_plain.y") is PyTorch's conv2d result for the inputs conv_plain.x, .w, .b.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <string>

#include <tapegrad/autograd/tensor.hpp>

namespace tg::golden {

struct Entry {
  const char* name;
  std::size_t dims;
  std::array<std::size_t, 4> shape;
  const float* values;
  std::size_t count;
};

namespace data {
#include "autograd/golden/cnn_golden.inc"
}  // namespace data

/// The array called `name` as a tensor (fails the test if there is none).
inline Tensor tensor(const std::string& name) {
  for (const Entry& e : data::entries)
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
