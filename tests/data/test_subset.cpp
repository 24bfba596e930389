// Subset: some samples of another dataset, in the order given.
#include <tapegrad/data/data.hpp>
#include "test_util.hpp"

using namespace tg;

namespace {
std::shared_ptr<const data::Dataset> five_samples() {
  Tensor images = empty_tensor({5, 1, 2, 2});
  for (std::size_t i = 0; i < images.size(); ++i) images.data()[i] = float(i);
  Labels labels = Labels::from_shape({5});
  for (std::int64_t i = 0; i < 5; ++i) labels(i) = 4 - i;
  return std::make_shared<data::TensorDataset>(images, labels);
}
}  // namespace

TEST_CASE("Subset picks the samples at its indices, in order") {
  data::Subset s(five_samples(), {3, 0, 3});
  REQUIRE(s.size() == 3);
  CHECK(s.get(0).target == 1);
  CHECK(s.get(1).target == 4);
  CHECK(s.get(2).data(0, 0, 0) == 12.0f);
  CHECK_THROWS_WITH_AS(s.get(3), doctest::Contains("Subset: expected an index below 3, got 3"), Error);
  CHECK_THROWS_WITH_AS(data::Subset(five_samples(), {5}),
                       doctest::Contains("Subset: expected indices below the dataset's size 5, got 5"), Error);
}

TEST_CASE("subset(base, n) keeps the first n samples, at most all") {
  CHECK(data::subset(five_samples(), 2)->size() == 2);
  CHECK(data::subset(five_samples(), 2)->get(1).target == 3);
  CHECK(data::subset(five_samples(), 100)->size() == 5);
}
