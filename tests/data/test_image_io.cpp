// Image files: PNG/BMP exact round trips, JPEG within compression error, grids laid out as
// torchvision's make_grid, and hostile or broken files rejected before decoding.
#include <doctest/doctest.h>

#include <cmath>

#include "data/data.hpp"
#include "data_test_util.hpp"

using namespace data_test;

namespace {

// An image [c, h, w] whose values are exact multiples of 1/255 (so 8-bit files are lossless).
tg::Tensor pattern(std::size_t c, std::size_t h, std::size_t w) {
  tg::Tensor t = tg::empty({c, h, w});
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = float((i * 53) % 256) / 255.0f;
  return t;
}

double max_abs_diff(const tg::Tensor& a, const tg::Tensor& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, double(std::abs(a.data()[i] - b.data()[i])));
  return worst;
}

}  // namespace

TEST_CASE("PNG and BMP round trips are exact, JPEG is close") {
  const auto dir = temp_dir("image_io");
  for (std::size_t c : {1, 3}) {
    const auto image = pattern(c, 5, 7);
    for (const char* ext : {".png", ".bmp"}) {
      const auto path = dir / ("img" + std::to_string(c) + ext);
      tg::data::write_image(path, image);
      const auto back = tg::data::read_image(path, int(c));  // BMP stores grey as RGB
      REQUIRE(back.shape() == image.shape());
      CHECK(max_abs_diff(back, image) < 1e-6);
    }
  }
  // A smooth RGB image survives JPEG at quality 95 within a few grey levels.
  tg::Tensor smooth = tg::empty({3, 16, 16});
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t y = 0; y < 16; ++y)
      for (std::size_t x = 0; x < 16; ++x)
        smooth(k, y, x) = 0.2f + 0.02f * float(x + y) + 0.1f * float(k);
  tg::data::write_image(dir / "smooth.jpg", smooth, {.quality = 95});
  CHECK(max_abs_diff(tg::data::read_image(dir / "smooth.jpg"), smooth) < 0.05);
  // Channel conversion on read: grey to RGB replicates, RGB to grey is one channel.
  const auto rgb = tg::data::read_image(dir / "img1.png", 3);
  REQUIRE(rgb.shape() == tg::Shape{3, 5, 7});
  CHECK(rgb(2, 4, 6) == pattern(1, 5, 7)(0, 4, 6));
  CHECK(tg::data::read_image(dir / "img3.png", 1).shape() == tg::Shape{1, 5, 7});
}

TEST_CASE("write_png clamps, accepts [H, W], and min-max normalises on request") {
  const auto dir = temp_dir("image_io_png");
  tg::Tensor t = tg::empty({2, 3});
  const float values[6] = {-1.0f, 0.0f, 0.5f, 1.0f, 2.0f, 0.25f};
  std::copy(values, values + 6, t.data());
  tg::data::write_png(dir / "clamped.png", t);
  const auto back = tg::data::read_image(dir / "clamped.png");
  REQUIRE(back.shape() == tg::Shape{1, 2, 3});
  const float expected[6] = {0, 0, 128 / 255.0f, 1, 1, 64 / 255.0f};
  for (int i = 0; i < 6; ++i) CHECK(back.data()[i] == doctest::Approx(expected[i]));

  tg::data::write_png(dir / "normalized.png", t, {.normalize = true});  // (v + 1) / 3
  const auto norm = tg::data::read_image(dir / "normalized.png");
  for (int i = 0; i < 6; ++i)
    CHECK(norm.data()[i] ==
          doctest::Approx(std::round((values[i] + 1) / 3 * 255) / 255).epsilon(1e-6));

  CHECK_THROWS_WITH_AS(tg::data::write_png(dir / "x.png", tg::empty({2, 4, 4})),
                       doctest::Contains("write_png: expected an image of shape [C, H, W] with C = "
                                         "1, 3 or 4, or [H, W], got [2, 4, 4]"),
                       tg::Error);
  t(0, 1) = std::nanf("");
  CHECK_THROWS_WITH_AS(tg::data::write_png(dir / "nan.png", t),
                       doctest::Contains("write_png: expected finite values, got nan at element 1"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(tg::data::write_image(dir / "x.gif", pattern(1, 2, 2)),
                       doctest::Contains("expected a .png, .bmp, .jpg or .jpeg file name"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(tg::data::write_png(dir / "no" / "such" / "dir.png", pattern(1, 2, 2)),
                       doctest::Contains("write_png: cannot open"), tg::Error);
}

TEST_CASE("make_grid and save_grid lay images out as torchvision's make_grid") {
  tg::Tensor images = tg::empty({5, 1, 2, 3});
  for (std::size_t i = 0; i < images.size(); ++i) images.data()[i] = 0.5f + float(i / 6) * 0.1f;
  // 5 images, 3 per row -> 2 rows; each cell (2 + 1) x (3 + 1), plus 1 of padding: [1, 7, 13].
  const auto grid = tg::data::make_grid(images, 3, 1, false, -1.0f);
  REQUIRE(grid.shape() == tg::Shape{1, 7, 13});
  CHECK(grid(0, 0, 0) == -1.0f);
  CHECK(grid(0, 1, 1) == doctest::Approx(0.5f));  // image 0 at (1, 1)
  CHECK(grid(0, 2, 3) == doctest::Approx(0.5f));
  CHECK(grid(0, 1, 4) == -1.0f);                  // padding between columns
  CHECK(grid(0, 1, 5) == doctest::Approx(0.6f));  // image 1 at (1, 5)
  CHECK(grid(0, 4, 5) == doctest::Approx(0.9f));  // image 4 at (4, 5)
  CHECK(grid(0, 4, 9) == -1.0f);                  // no sixth image
  // A lone image comes back as it is.
  tg::Tensor lone = pattern(3, 4, 4);
  lone.reshape({1, 3, 4, 4});
  CHECK(tg::data::make_grid(lone).shape() == tg::Shape{3, 4, 4});

  const auto dir = temp_dir("grid");
  tg::data::save_grid(dir / "grid.png", images, 3, 1, true);
  const auto back = tg::data::read_image(dir / "grid.png");
  REQUIRE(back.shape() == tg::Shape{1, 7, 13});
  CHECK(back(0, 1, 1) == 0.0f);  // normalised: the smallest value becomes 0
  CHECK(back(0, 4, 5) == 1.0f);  // and the largest 1
  CHECK_THROWS_WITH_AS(tg::data::make_grid(tg::empty({3, 4, 4})),
                       doctest::Contains("make_grid: expected images of shape [N, C, H, W]"),
                       tg::Error);
}

TEST_CASE("hostile and broken image files are errors naming the file") {
  const auto dir = temp_dir("image_bad");
  const auto png = dir / "ok.png";
  tg::data::write_png(png, pattern(3, 4, 4));
  auto bytes = read_bytes(png);
  REQUIRE(bytes.size() > 24);

  SUBCASE("PNG headers claiming too many pixels are refused before decoding") {
    const auto huge = dir / "huge.png";
    auto claim = [&](std::uint32_t w, std::uint32_t h) {  // IHDR width at offset 16, height at 20
      Bytes patched(bytes.begin(), bytes.begin() + 16);
      put_be32(patched, w), put_be32(patched, h);
      patched.insert(patched.end(), bytes.begin() + 24, bytes.end());
      write_bytes(huge, patched);
    };
    claim(10000, 10000);
    CHECK_THROWS_WITH_AS(tg::data::read_image(huge),
                         doctest::Contains(("read_image: expected an image of at most 8192x8192 "
                                            "pixels, got 10000x10000 in the header of " +
                                            huge.string())
                                               .c_str()),
                         tg::Error);
    claim(8000, 8200);  // both sides allowed, but over 64 Mpixel
    CHECK_THROWS_WITH_AS(tg::data::read_image(huge), doctest::Contains("got 8000x8200"), tg::Error);
    claim(100000, 100000);  // stb's own header check refuses this one
    CHECK_THROWS_WITH_AS(tg::data::read_image(huge), doctest::Contains(huge.string().c_str()),
                         tg::Error);
  }
  SUBCASE("a PNG cut short") {
    const auto cut = dir / "cut.png";
    bytes.resize(bytes.size() / 2);
    write_bytes(cut, bytes);
    CHECK_THROWS_WITH_AS(tg::data::read_image(cut),
                         doctest::Contains(("read_image: cannot decode " + cut.string()).c_str()),
                         tg::Error);
  }
  SUBCASE("not an image at all") {
    const auto text = dir / "notes.png";
    write_bytes(text, Bytes{'h', 'e', 'l', 'l', 'o'});
    CHECK_THROWS_WITH_AS(
        tg::data::read_image(text),
        doctest::Contains(
            ("read_image: " + text.string() + " is not a PNG, JPEG or BMP image").c_str()),
        tg::Error);
    write_bytes(text, {});
    CHECK_THROWS_WITH_AS(tg::data::read_image(text), doctest::Contains("bytes, got 0 in"),
                         tg::Error);
  }
  SUBCASE("a missing file") {
    CHECK_THROWS_WITH_AS(tg::data::read_image(dir / "absent.png"),
                         doctest::Contains("read_image: cannot read"), tg::Error);
  }
}
