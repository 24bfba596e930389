// TensorDataset: samples are copies of the rows of the tensors it wraps.
#include <doctest/doctest.h>

#include <tapegrad/data/data.hpp>

TEST_CASE("TensorDataset returns row i of the images and label i") {
  tg::Tensor images = tg::empty_tensor({4, 2, 3, 3});
  for (std::size_t i = 0; i < images.size(); ++i) images.data()[i] = float(i);
  tg::Labels labels = tg::Labels::from_shape({4});
  for (std::size_t i = 0; i < 4; ++i) labels(i) = std::int64_t(10 + i);
  const tg::data::TensorDataset ds(images, labels);
  REQUIRE(ds.size() == 4);
  const auto ex = ds.get(2);
  REQUIRE(ex.data.shape() == tg::Shape{2, 3, 3});
  CHECK(ex.target == 12);
  CHECK(ex.data(0, 0, 0) == 36.0f);
  CHECK(ex.data(1, 2, 2) == 53.0f);
  CHECK_THROWS_WITH_AS(ds.get(4), doctest::Contains("TensorDataset.get: expected an index below 4"),
                       tg::Error);
  CHECK(ds.classes().empty());
}

TEST_CASE("TensorDataset checks that labels match the images") {
  tg::Labels three = tg::Labels::from_shape({3});
  CHECK_THROWS_WITH_AS(tg::data::TensorDataset(tg::empty_tensor({4, 1, 2, 2}), three),
                       doctest::Contains("TensorDataset: expected labels of shape [4], got [3]"),
                       tg::Error);
}
