// The trainer's test-time augmentation: shifted and mirrored copies of the test images,
// hand-checked, and the prediction as the mean of the model's outputs over exactly those views.
#include <tapegrad/autograd/autograd.hpp>
#include "examples/common/tta.hpp"
#include "examples/example_util.hpp"

namespace E = tg::examples;
using tg::Tensor;
using tg::Variable;

namespace {

// One image of 2 channels, 2 x 3: channel 0 holds 1..6, channel 1 holds 11..16.
Tensor two_channel_image() {
  Tensor x = tg::empty_tensor({1, 2, 2, 3});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float(i < 6 ? i + 1 : i + 5);
  return x;
}

std::vector<float> values(const Tensor& t) { return {t.data(), t.data() + t.size()}; }

}  // namespace

TEST_CASE("shift_batch moves the image and fills the uncovered border with each channel's value") {
  const Tensor x = two_channel_image();
  const std::vector<float> fill{-1, -2};
  CHECK(values(E::shift_batch(x, 0, 0, fill)) == values(x));
  // Right by one: the first column is uncovered.
  CHECK(values(E::shift_batch(x, 1, 0, fill)) == std::vector<float>{-1, 1, 2, -1, 4, 5, -2, 11, 12, -2, 14, 15});
  // Left by one and down by one: the top row and the last column are uncovered.
  CHECK(values(E::shift_batch(x, -1, 1, fill)) == std::vector<float>{-1, -1, -1, 2, 3, -1, -2, -2, -2, 12, 13, -2});
  // Further than the image: all border.
  CHECK(values(E::shift_batch(x, 3, 0, fill)) == std::vector<float>{-1, -1, -1, -1, -1, -1, -2, -2, -2, -2, -2, -2});
}

TEST_CASE("shift_batch refuses images that are not [N, C, H, W] and a fill per channel that does not match") {
  CHECK_THROWS_WITH_AS(E::shift_batch(tg::empty_tensor({2, 3}), 1, 0, {0}),
                       "shift_batch: expected images [N, C, H, W], got [2, 3]", tg::Error);
  CHECK_THROWS_WITH_AS(E::shift_batch(two_channel_image(), 1, 0, {0}),
                       "shift_batch: expected a fill value per channel (2 for images [1, 2, 2, 3]), got 1", tg::Error);
}

TEST_CASE("with_tta averages the model's output over the shifted views, mirrored and not") {
  // A model that is not symmetric in its input: the weighted sum of the pixels, two outputs.
  const auto model = [](const Variable& x) {
    const Tensor& v = x.value();
    Tensor out = tg::zeros({v.shape()[0], 2}).value();
    for (std::size_t i = 0; i < v.size(); ++i) {
      out.data()[0] += float(i + 1) * v.data()[i];
      out.data()[1] += v.data()[i] * v.data()[i];
    }
    return Variable(out);
  };
  const Tensor x = two_channel_image();
  const std::vector<float> fill{-1, -2};
  CHECK(E::view_count({.flip = false, .shift = 0, .fill = fill}) == 1);
  CHECK(E::view_count({.flip = true, .shift = 0, .fill = fill}) == 2);
  CHECK(E::view_count({.flip = true, .shift = 1, .fill = fill}) == 18);
  CHECK(E::view_count({.flip = false, .shift = 2, .fill = fill}) == 25);

  Tensor expected = tg::zeros({1, 2}).value();
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx) {
      const Tensor shifted = E::shift_batch(x, dx, dy, fill);
      expected += model(Variable(shifted)).value();
      expected += model(Variable(E::hflip_batch(shifted))).value();
    }
  expected /= 18.0f;
  const Tensor got = E::with_tta(model, {.flip = true, .shift = 1, .fill = fill})(Variable(x)).value();
  REQUIRE(got.size() == 2);
  CHECK(got.data()[0] == doctest::Approx(expected.data()[0]).epsilon(1e-6));
  CHECK(got.data()[1] == doctest::Approx(expected.data()[1]).epsilon(1e-6));

  // The flip alone: the image and its mirror image.
  const Tensor flip_only = E::with_tta(model, {.flip = true, .shift = 0, .fill = fill})(Variable(x)).value();
  const float mean0 = (model(Variable(x)).value().data()[0] + model(Variable(E::hflip_batch(x))).value().data()[0]) / 2;
  CHECK(flip_only.data()[0] == doctest::Approx(mean0).epsilon(1e-6));

  CHECK_THROWS_WITH_AS(E::with_tta(model, {.flip = false, .shift = -1, .fill = fill}),
                       "test-time augmentation: expected a shift >= 0 pixels, got -1", tg::Error);
}
