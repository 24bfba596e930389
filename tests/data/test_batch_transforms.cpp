// MixUp, CutMix and RandomChoice of batches (torchvision.transforms.v2): hand-worked blends and
// boxes, labels that stay distributions, the Beta draws' moments, reproducibility, errors.
#include <cmath>
#include <vector>

#include <tapegrad/data/batch_transforms.hpp>
#include "test_util.hpp"

using namespace tg;
using namespace tg::data;
using tg::test::check_close;

namespace {

// Image i of a batch [3, 1, 2, 2] is filled with i + 1; labels 0, 2, 1.
Batch small_batch() {
  Tensor images = empty_tensor({3, 1, 2, 2});
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t k = 0; k < 4; ++k) images.data()[i * 4 + k] = static_cast<float>(i + 1);
  Labels labels = Labels::from_shape({3});
  labels(0) = 0, labels(1) = 2, labels(2) = 1;
  return {Variable(images), labels};
}

}  // namespace

TEST_CASE("MixUp blends each image and label with the previous one in the batch (roll by one)") {
  const SoftBatch out = transforms::MixUp(3).apply(small_batch(), 0.75f);
  // image 0 takes 0.25 of image 2 (the batch rolled by one), image 1 of image 0, image 2 of image 1
  CHECK(out.images.value()(0, 0, 0, 0) == doctest::Approx(0.75 * 1 + 0.25 * 3));
  CHECK(out.images.value()(1, 0, 1, 1) == doctest::Approx(0.75 * 2 + 0.25 * 1));
  CHECK(out.images.value()(2, 0, 1, 0) == doctest::Approx(0.75 * 3 + 0.25 * 2));
  const Tensor expected = tg::test::make({3, 3}, {0.75f, 0.25f, 0.0f,    // label 0, previous 1
                                                  0.25f, 0.0f, 0.75f,    // label 2, previous 0
                                                  0.0f, 0.75f, 0.25f});  // label 1, previous 2
  check_close(out.targets.value(), expected, 1e-7, 0);
}

TEST_CASE("CutMix pastes the previous image's box and weighs the labels by the area kept") {
  Batch batch = small_batch();
  const SoftBatch out = transforms::CutMix(3).apply(batch, {.x1 = 1, .y1 = 0, .x2 = 2, .y2 = 2});
  // the right column of each 2 x 2 image comes from the previous image
  CHECK(out.images.value()(0, 0, 0, 0) == 1.0f);
  CHECK(out.images.value()(0, 0, 0, 1) == 3.0f);
  CHECK(out.images.value()(0, 0, 1, 1) == 3.0f);
  CHECK(out.images.value()(1, 0, 1, 0) == 2.0f);
  CHECK(out.images.value()(1, 0, 1, 1) == 1.0f);
  CHECK(batch.data.value()(0, 0, 0, 1) == 1.0f);  // the input is not changed
  check_close(out.targets.value(), tg::test::make({3, 3}, {0.5f, 0.5f, 0.0f, 0.5f, 0.0f, 0.5f, 0.0f, 0.5f, 0.5f}),
              1e-7, 0);
}

TEST_CASE("random MixUp and CutMix keep each label row a distribution, reproducibly") {
  const transforms::RandomChoice choice({transforms::MixUp(3, 0.2f), transforms::CutMix(3, 1.0f)});
  Generator a(7), b(7);
  for (int round = 0; round < 20; ++round) {
    const SoftBatch x = choice(small_batch(), a), y = choice(small_batch(), b);
    check_close(x.images.value(), y.images.value(), 0, 0);
    for (std::size_t i = 0; i < 3; ++i) {
      float total = 0.0f;
      for (std::size_t j = 0; j < 3; ++j) {
        CHECK(x.targets.value()(i, j) >= 0.0f);
        total += x.targets.value()(i, j);
      }
      CHECK(total == doctest::Approx(1.0f));
    }
  }
}

TEST_CASE("sample_beta has Beta(a, b)'s mean and variance") {
  struct Case {
    float a, b;
  };
  for (const Case c : {Case{1.0f, 1.0f}, Case{0.2f, 0.2f}, Case{2.0f, 5.0f}}) {
    CAPTURE(c.a);
    CAPTURE(c.b);
    Generator gen(3);
    const int n = 200000;
    double sum = 0.0, sum_sq = 0.0;
    int outside = 0;
    for (int i = 0; i < n; ++i) {
      const double v = transforms::sample_beta(c.a, c.b, gen);
      outside += !(v >= 0.0 && v <= 1.0);
      sum += v, sum_sq += v * v;
    }
    CHECK(outside == 0);
    const double mean = sum / n, var = sum_sq / n - mean * mean;
    const double ab = c.a + c.b;
    const double true_mean = c.a / ab, true_var = c.a * c.b / (ab * ab * (ab + 1));
    CHECK(mean == doctest::Approx(true_mean).epsilon(0.01));
    CHECK(var == doctest::Approx(true_var).epsilon(0.02));
  }
}

TEST_CASE("batch transforms: bad labels, shapes and options are tg::Error") {
  Batch batch = small_batch();
  CHECK_THROWS_WITH_AS(transforms::MixUp(2).apply(batch, 0.5f),
                       "MixUp: expected labels in [0, 2), got 2 at index 1 (num_classes is 2)", tg::Error);
  CHECK_THROWS_WITH_AS(transforms::MixUp(3, 0.0f), "MixUp: expected alpha > 0, got 0", tg::Error);
  CHECK_THROWS_WITH_AS(transforms::CutMix(3).apply(batch, {.x1 = 0, .y1 = 0, .x2 = 3, .y2 = 1}),
                       "CutMix: expected a box inside the 2 x 2 image, got x 0..3, y 0..1", tg::Error);
  Batch flat{Variable(empty_tensor({3, 4})), batch.target};
  CHECK_THROWS_WITH_AS(transforms::CutMix(3).apply(flat, {0, 0, 1, 1}),
                       "CutMix: expected images [N, C, H, W], got [3, 4]", tg::Error);
}
