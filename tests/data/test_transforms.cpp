// Augmentation properties: exact identities (flips, zero rotation, full crops), hand-worked
// bilinear values, the statistics transforms promise, and seeded reproducibility.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/data/data.hpp>

namespace T = tg::data::transforms;
namespace F = tg::data::transforms::functional;

namespace {

// Distinct values in [0.1, 1.1) so that a zero marks padding.
tg::Tensor distinct_image(std::size_t c, std::size_t h, std::size_t w, std::uint64_t seed = 1) {
  tg::Generator gen(seed);
  tg::Tensor t = tg::empty_tensor({c, h, w});
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = 0.1f + gen.uniform();
  return t;
}

tg::Tensor constant(std::size_t c, std::size_t h, std::size_t w, float v) {
  tg::Tensor t = tg::empty_tensor({c, h, w});
  std::fill(t.data(), t.data() + t.size(), v);
  return t;
}

double max_abs_diff(const tg::Tensor& a, const tg::Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, double(std::abs(a.data()[i] - b.data()[i])));
  return worst;
}

// The (dy, dx) with out[y][x] = in[y + dy][x + dx] (0 outside) for every pixel, if any.
bool find_shift(const tg::Tensor& in, const tg::Tensor& out, int pad, int& dy, int& dx) {
  const int h = int(in.shape(1)), w = int(in.shape(2));
  for (dy = -pad; dy <= pad; ++dy)
    for (dx = -pad; dx <= pad; ++dx) {
      bool all = true;
      for (std::size_t k = 0; k < in.shape(0) && all; ++k)
        for (int y = 0; y < h && all; ++y)
          for (int x = 0; x < w && all; ++x) {
            const int sy = y + dy, sx = x + dx;
            const float want = (sy < 0 || sx < 0 || sy >= h || sx >= w) ? 0.0f : in(k, sy, sx);
            all = out(k, y, x) == want;
          }
      if (all) return true;
    }
  return false;
}

}  // namespace

TEST_CASE("flips: twice is the identity, once mirrors") {
  const auto image = distinct_image(3, 5, 4);
  CHECK(max_abs_diff(F::hflip(F::hflip(image)), image) == 0);
  CHECK(max_abs_diff(F::vflip(F::vflip(image)), image) == 0);
  CHECK(F::hflip(image)(1, 2, 0) == image(1, 2, 3));
  CHECK(F::vflip(image)(2, 0, 1) == image(2, 4, 1));
  tg::Generator gen(3);
  CHECK(max_abs_diff(T::RandomHorizontalFlip(1.0f)(image, gen), F::hflip(image)) == 0);
  CHECK(max_abs_diff(T::RandomVerticalFlip(1.0f)(image, gen), F::vflip(image)) == 0);
  CHECK(max_abs_diff(T::RandomHorizontalFlip(0.0f)(image, gen), image) == 0);
  // p = 0.5: about half the draws flip.
  int flipped = 0;
  for (int i = 0; i < 400; ++i)
    flipped += T::RandomHorizontalFlip()(image, gen)(0, 0, 0) != image(0, 0, 0);
  CHECK(flipped > 140);
  CHECK(flipped < 260);
  CHECK_THROWS_WITH_AS(
      T::RandomHorizontalFlip(1.5f),
      doctest::Contains("RandomHorizontalFlip: expected a probability p in [0, 1], got 1.5"),
      tg::Error);
}

TEST_CASE("RandomCrop with padding keeps the shape and shifts the content") {
  const auto image = distinct_image(2, 6, 7);
  const T::RandomCrop crop(T::Size2d(6, 7), 2);
  std::set<std::pair<int, int>> shifts;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    tg::Generator gen(seed);
    const auto out = crop(image, gen);
    REQUIRE(out.shape() == image.shape());
    int dy = 0, dx = 0;
    REQUIRE(find_shift(image, out, 2, dy, dx));
    shifts.insert({dy, dx});
  }
  CHECK(shifts.size() == 25);  // every offset in [-2, 2]^2 occurs
  tg::Generator gen(0);
  const auto small = T::RandomCrop(3)(image, gen);
  CHECK(small.shape() == tg::Shape{2, 3, 3});
  CHECK(max_abs_diff(T::RandomCrop(T::Size2d(6, 7))(image, gen), image) == 0);
  CHECK_THROWS_WITH_AS(T::RandomCrop(11, 1)(image, gen),
                       doctest::Contains("RandomCrop: expected a crop of 11x11 to fit in the "
                                         "padded image, got [2, 6, 7] with padding 1"),
                       tg::Error);
}

TEST_CASE("rotation: 0 degrees is the identity, 90 a transpose and flip") {
  const auto image = distinct_image(2, 6, 6);
  CHECK(max_abs_diff(F::rotate(image, 0.0f), image) == 0);
  tg::Generator gen(1);
  CHECK(max_abs_diff(T::RandomRotation(0.0f)(image, gen), image) == 0);
  // Counter-clockwise by 90 degrees: out[y][x] = in[x][W - 1 - y] (torch.rot90).
  tg::Tensor expected = tg::empty_tensor(image.shape());
  for (std::size_t k = 0; k < 2; ++k)
    for (std::size_t y = 0; y < 6; ++y)
      for (std::size_t x = 0; x < 6; ++x) expected(k, y, x) = image(k, x, 5 - y);
  CHECK(max_abs_diff(F::rotate(image, 90.0f), expected) < 1e-5);
  CHECK(max_abs_diff(T::RandomRotation(90.0f, 90.0f)(image, gen), expected) < 1e-5);
  // 180 degrees twice is the identity; a small angle keeps the centre of a constant image.
  CHECK(max_abs_diff(F::rotate(F::rotate(image, 180.0f), 180.0f), image) < 1e-5);
  const auto turned = F::rotate(constant(1, 9, 9, 0.7f), 20.0f);
  CHECK(turned(0, 4, 4) == doctest::Approx(0.7f));
  CHECK(turned(0, 0, 0) == 0.0f);  // a corner rotated in from outside: filled with 0
  const auto random_turn = T::RandomRotation(30.0f)(image, gen);
  CHECK(random_turn.shape() == image.shape());
}

TEST_CASE("Normalize gives the stated mean and standard deviation per channel") {
  tg::Generator gen(5);
  tg::Tensor image = tg::empty_tensor({2, 16, 16});
  const float mean[2] = {0.3f, 0.6f}, scale[2] = {0.1f, 0.05f};
  for (std::size_t k = 0; k < 2; ++k)
    for (std::size_t i = 0; i < 256; ++i)
      image.data()[k * 256 + i] = mean[k] + scale[k] * gen.normal();
  // The image's own statistics, then Normalize with them: mean 0, std 1 per channel.
  std::vector<float> m(2), s(2);
  for (std::size_t k = 0; k < 2; ++k) {
    double sum = 0, sq = 0;
    for (std::size_t i = 0; i < 256; ++i) sum += image.data()[k * 256 + i];
    m[k] = float(sum / 256);
    for (std::size_t i = 0; i < 256; ++i) sq += std::pow(image.data()[k * 256 + i] - m[k], 2);
    s[k] = float(std::sqrt(sq / 256));
  }
  const auto out = T::Normalize(m, s)(image, gen);
  for (std::size_t k = 0; k < 2; ++k) {
    double sum = 0, sq = 0;
    for (std::size_t i = 0; i < 256; ++i)
      sum += out.data()[k * 256 + i], sq += std::pow(out.data()[k * 256 + i], 2);
    CHECK(sum / 256 == doctest::Approx(0.0).epsilon(1e-4).scale(1));
    CHECK(std::sqrt(sq / 256) == doctest::Approx(1.0).epsilon(1e-4));
  }
  CHECK(T::Normalize({0.5f}, {0.25f})(constant(3, 2, 2, 1.0f), gen)(2, 1, 1) == 2.0f);
  CHECK_THROWS_WITH_AS(T::Normalize({0.5f}, {0.0f}),
                       doctest::Contains("Normalize: expected non-zero standard deviations, got 0"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(
      T::Normalize({0.5f, 0.5f}, {1.0f, 1.0f})(constant(3, 2, 2, 1.0f), gen),
      doctest::Contains("Normalize: expected an image with 2 channels, got [3, 2, 2]"), tg::Error);
}

TEST_CASE("Resize: bilinear with half-pixel centres, constants stay constant") {
  tg::Tensor tiny = tg::empty_tensor({1, 2, 2});
  tiny(0, 0, 0) = 0, tiny(0, 0, 1) = 1, tiny(0, 1, 0) = 2, tiny(0, 1, 1) = 3;
  // Worked by hand (align_corners = false): source taps at 0, 0.25, 0.75, 1 on each axis, so
  // out[y][x] = 2 r[y] + r[x] with r = {0, 0.25, 0.75, 1}.
  const auto up = F::resize(tiny, 4, 4);
  const float r[4] = {0, 0.25f, 0.75f, 1};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) CHECK(up(0, y, x) == doctest::Approx(2 * r[y] + r[x]));
  tg::Generator gen(0);
  for (auto [h, w] : {std::pair{3, 5}, std::pair{17, 9}, std::pair{1, 1}}) {
    const auto out = T::Resize({h, w})(constant(3, 7, 11, 0.42f), gen);
    REQUIRE(out.shape() == tg::Shape{3, std::size_t(h), std::size_t(w)});
    for (float v : out) CHECK(v == doctest::Approx(0.42f));
  }
  CHECK(T::Resize(5)(constant(1, 10, 21, 0), gen).shape() == tg::Shape{1, 5, 10});  // smaller side
  CHECK(T::Resize(5)(constant(1, 21, 10, 0), gen).shape() == tg::Shape{1, 10, 5});
  const auto same = distinct_image(2, 4, 6);
  CHECK(max_abs_diff(F::resize(same, 4, 6), same) < 1e-6);
}

TEST_CASE("CenterCrop picks the middle, padding with zeros when larger") {
  tg::Tensor image = tg::empty_tensor({1, 5, 5});
  for (std::size_t i = 0; i < 25; ++i) image.data()[i] = float(i + 1);
  tg::Generator gen(0);
  const auto three = T::CenterCrop(3)(image, gen);
  REQUIRE(three.shape() == tg::Shape{1, 3, 3});
  CHECK(three(0, 0, 0) == 7.0f);   // image[1][1]
  CHECK(three(0, 2, 2) == 19.0f);  // image[3][3]
  // (5 - 2) / 2 = 1.5 rounds to 2 as Python's round does.
  CHECK(T::CenterCrop(2)(image, gen)(0, 0, 0) == 13.0f);
  const auto seven = T::CenterCrop(7)(image, gen);
  CHECK(seven(0, 0, 0) == 0.0f);
  CHECK(seven(0, 1, 1) == 1.0f);
  CHECK(seven(0, 5, 5) == 25.0f);
}

TEST_CASE("RandomResizedCrop: the requested size, the full image when scale and ratio are 1") {
  const auto image = distinct_image(3, 8, 8);
  tg::Generator gen(2);
  CHECK(max_abs_diff(T::RandomResizedCrop(8, {1, 1}, {1, 1})(image, gen), image) < 1e-6);
  for (int i = 0; i < 20; ++i) {
    const auto out = T::RandomResizedCrop({5, 6})(image, gen);
    REQUIRE(out.shape() == tg::Shape{3, 5, 6});
    for (float v : out) CHECK((v >= 0.1f && v < 1.1f));  // interpolated inside the source
  }
  // An impossible ratio falls back to the central crop of the closest ratio.
  const auto wide = T::RandomResizedCrop(4, {0.9f, 1}, {8, 9})(distinct_image(1, 8, 8), gen);
  CHECK(wide.shape() == tg::Shape{1, 4, 4});
}

TEST_CASE("ColorJitter factors stay within their ranges") {
  tg::Generator gen(7);
  for (int i = 0; i < 50; ++i) {
    const auto out = T::ColorJitter(0.5f)(constant(3, 2, 2, 0.5f), gen);
    CHECK(out(0, 0, 0) >= 0.25f - 1e-6f);
    CHECK(out(0, 0, 0) <= 0.75f + 1e-6f);
    CHECK(out(2, 1, 1) == out(0, 0, 0));
  }
  // Contrast blends with the mean of the greyscale image: that mean is kept (no clamping here).
  tg::Tensor grey = tg::empty_tensor({1, 4, 4});
  for (std::size_t i = 0; i < 16; ++i) grey.data()[i] = 0.4f + 0.2f * float(i) / 15;
  for (int i = 0; i < 20; ++i) {
    const auto out = T::ColorJitter(0, 0.5f)(grey, gen);
    double sum = 0;
    for (float v : out) sum += v;
    CHECK(sum / 16 == doctest::Approx(0.5).epsilon(1e-5));
  }
  // However strong the brightness and saturation changes, values stay in [0, 1].
  const auto bright = T::ColorJitter(5.0f, 0, 0.5f)(distinct_image(3, 3, 3), gen);
  for (float v : bright) CHECK((v >= 0 && v <= 1));
}

TEST_CASE("GaussianNoise has the stated mean and standard deviation") {
  tg::Generator gen(11);
  const auto out = T::GaussianNoise(0.5f)(constant(1, 100, 100, 0.0f), gen);
  double sum = 0, sq = 0;
  for (float v : out) sum += v, sq += double(v) * v;
  CHECK(sum / 1e4 == doctest::Approx(0.0).scale(1).epsilon(0.02));
  CHECK(std::sqrt(sq / 1e4) == doctest::Approx(0.5).epsilon(0.03));
}

TEST_CASE("RandomErasing sets one rectangle within the scale range to the value") {
  tg::Generator gen(13);
  const auto ones = constant(2, 20, 20, 1.0f);
  CHECK(max_abs_diff(T::RandomErasing(0.0f)(ones, gen), ones) == 0);
  for (int i = 0; i < 30; ++i) {
    const auto out = T::RandomErasing(1.0f)(ones, gen);
    std::size_t y0 = 20, y1 = 0, x0 = 20, x1 = 0, zeros = 0;
    for (std::size_t y = 0; y < 20; ++y)
      for (std::size_t x = 0; x < 20; ++x)
        if (out(0, y, x) == 0) {
          ++zeros;
          y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
          CHECK(out(1, y, x) == 0);
        }
    REQUIRE(zeros > 0);
    CHECK(zeros == (y1 - y0 + 1) * (x1 - x0 + 1));  // a filled rectangle
    CHECK(zeros >= 4);                              // ~0.02 * 400 after rounding the sides
    CHECK(zeros <= 160);                            // ~0.33 * 400 after rounding the sides
  }
}

TEST_CASE("Compose applies in order; the same generator state gives the same result") {
  const T::Compose pipeline({T::RandomHorizontalFlip(), T::RandomCrop(28, 4), T::RandomRotation(15),
                             T::ColorJitter(0.3f, 0.3f), T::GaussianNoise(0.05f),
                             T::RandomErasing(), T::Normalize({0.5f}, {0.5f})});
  const auto image = distinct_image(1, 28, 28);
  tg::Generator a(99), b(99), c(100);
  const auto first = pipeline(image, a);
  CHECK(max_abs_diff(first, pipeline(image, b)) == 0);
  CHECK(max_abs_diff(first, pipeline(image, c)) > 0);
  tg::Generator gen(0);
  const auto twice = T::Compose({T::Normalize({0.5f}, {0.5f}), T::Normalize({1.0f}, {2.0f})})(
      constant(1, 1, 1, 1.0f), gen);
  CHECK(twice(0, 0, 0) == 0.0f);  // ((1 - 0.5) / 0.5 - 1) / 2
  CHECK_THROWS_WITH_AS(
      T::RandomCrop(3)(tg::empty_tensor({4, 4}), gen),
      doctest::Contains("RandomCrop: expected an image of shape [C, H, W], got [4, 4]"), tg::Error);
}
