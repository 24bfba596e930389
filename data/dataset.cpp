#include "tapegrad/data/dataset.hpp"

#include <algorithm>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/data/byte_reader.hpp"

namespace tg::data {

TensorDataset::TensorDataset(Tensor images, Labels labels)
    : images_(std::move(images)), labels_(std::move(labels)) {
  TG_CHECK(images_.dimension() >= 1, "TensorDataset: expected images of shape [N, ...], got ",
           shape_str(images_.shape()));
  TG_CHECK(labels_.dimension() == 1 && labels_.size() == images_.shape(0),
           "TensorDataset: expected labels of shape [", images_.shape(0), "], got ",
           shape_str(Shape(labels_.shape().begin(), labels_.shape().end())));
  count_ = images_.shape(0);
}

Example<> TensorDataset::get(std::size_t index) const {
  detail::check_index("TensorDataset", index, count_);
  const Shape sample_shape(images_.shape().begin() + 1, images_.shape().end());
  Example example{empty_tensor(sample_shape), labels_(index)};
  const std::size_t n = example.data.size();
  const float* src = images_.data() + index * n;
  std::copy(src, src + n, example.data.data());
  return example;
}

}  // namespace tg::data
