#include "autograd/tensor.hpp"

#include <algorithm>
#include <numeric>

namespace tg {

namespace {
template <class Range>
std::string join_shape(const Range& dims) {
  std::string out = "[";
  bool first = true;
  for (auto d : dims) {
    if (!first) out += ", ";
    out += std::to_string(d);
    first = false;
  }
  return out + "]";
}
}  // namespace

std::string shape_str(const Shape& shape) { return join_shape(shape); }
std::string shape_str(const std::vector<std::int64_t>& shape) { return join_shape(shape); }

std::size_t numel_of(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

Tensor empty(const Shape& shape) { return Tensor::from_shape(shape); }

Tensor filled(const Shape& shape, float value) {
  Tensor t = Tensor::from_shape(shape);
  std::fill(t.data(), t.data() + t.size(), value);
  return t;
}

}  // namespace tg
