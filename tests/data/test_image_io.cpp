// Image files: PNG/BMP exact round trips, JPEG within compression error, grids laid out as
// torchvision's make_grid, and hostile or broken files rejected before decoding.
#include <doctest/doctest.h>

#include <cmath>

#include <tapegrad/data/data.hpp>
#include "data_test_util.hpp"

using namespace data_test;

namespace {

// An image [c, h, w] whose values are exact multiples of 1/255 (so 8-bit files are lossless).
tg::Tensor pattern(std::size_t c, std::size_t h, std::size_t w) {
  tg::Tensor t = tg::empty_tensor({c, h, w});
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
  tg::Tensor smooth = tg::empty_tensor({3, 16, 16});
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
  tg::Tensor t = tg::empty_tensor({2, 3});
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

  CHECK_THROWS_WITH_AS(tg::data::write_png(dir / "x.png", tg::empty_tensor({2, 4, 4})),
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
  tg::Tensor images = tg::empty_tensor({5, 1, 2, 3});
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
  CHECK_THROWS_WITH_AS(tg::data::make_grid(tg::empty_tensor({3, 4, 4})),
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
    claim(10000, 10000);  // libpng refuses the IHDR's CRC before we see the size: still an error
    CHECK_THROWS_WITH_AS(tg::data::read_image(huge), doctest::Contains(huge.string().c_str()),
                         tg::Error);
  }
  SUBCASE("a PNG cut short") {
    const auto cut = dir / "cut.png";
    bytes.resize(bytes.size() / 2);
    write_bytes(cut, bytes);
    CHECK_THROWS_WITH_AS(
        tg::data::read_image(cut),
        doctest::Contains(("read_image: cannot decode the PNG file " + cut.string()).c_str()),
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

namespace {

// A copy of a PNG whose IHDR claims w x h (its CRC recomputed, so only the size is wrong).
Bytes png_claiming(const Bytes& png, std::uint32_t w, std::uint32_t h) {
  Bytes out(png.begin(), png.begin() + 16);
  put_be32(out, w), put_be32(out, h);
  out.insert(out.end(), png.begin() + 24, png.begin() + 29);
  put_be32(out, static_cast<std::uint32_t>(crc32(0, png.data() + 12, 4)));  // chunk type...
  const auto crc = crc32(crc32(0, out.data() + 12, 4), out.data() + 16, 13);  // ...and data
  out.resize(29);
  put_be32(out, static_cast<std::uint32_t>(crc));
  out.insert(out.end(), png.begin() + 33, png.end());
  return out;
}

// A copy of a baseline JPEG whose SOF0 claims w x h.
Bytes jpeg_claiming(Bytes jpeg, std::uint16_t w, std::uint16_t h) {
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i)
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
      jpeg[i + 5] = std::uint8_t(h >> 8), jpeg[i + 6] = std::uint8_t(h);
      jpeg[i + 7] = std::uint8_t(w >> 8), jpeg[i + 8] = std::uint8_t(w);
      return jpeg;
    }
  FAIL("no SOF0 marker");
  return jpeg;
}

void put_le32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) b[at + k] = std::uint8_t(v >> (8 * k));
}

// Finding 1 of issue 12: a 156-byte JPEG whose DHT declares 16 x 17 = 272 codes (at most 256
// fit); Debian's stb_image 2.27 wrote past its 257-byte code-length table on it.
Bytes jpeg_with_272_codes() {
  Bytes b = {0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00};  // SOI, DQT: table 0
  b.insert(b.end(), 64, 1);
  const Bytes sof = {0xFF, 0xC0, 0x00, 0x0B, 8, 0, 8, 0, 8, 1, 1, 0x11, 0};  // 8x8 grey
  b.insert(b.end(), sof.begin(), sof.end());
  const Bytes dht = {0xFF, 0xC4, 0x00, 2 + 17 + 51, 0x00};  // DC table 0
  b.insert(b.end(), dht.begin(), dht.end());
  b.insert(b.end(), 16, 17);  // the 16 code counts: 272 in all
  for (std::uint8_t v = 0; v < 51; ++v) b.push_back(v);
  return b;
}

tg::Tensor noise(std::size_t c, std::size_t h, std::size_t w) {
  tg::Tensor t = tg::empty_tensor({c, h, w});
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = float((i * 7919) % 251) / 255.0f;
  return t;
}

}  // namespace

TEST_CASE("issue 12.1: a JPEG whose DHT declares more than 256 codes is an error") {
  const Bytes bad = jpeg_with_272_codes();
  REQUIRE(bad.size() == 156);
  CHECK_THROWS_WITH_AS(tg::data::decode_image(bad.data(), bad.size(), 0, "dht.jpg"),
                       doctest::Contains("read_image: cannot decode the JPEG file dht.jpg"),
                       tg::Error);
  // Fill bytes before the start marker fooled a pre-check that did not parse exactly as stb.
  Bytes filled(16, 0xFF);
  filled.insert(filled.end(), bad.begin() + 1, bad.end());
  CHECK_THROWS_AS(tg::data::decode_image(filled.data(), filled.size(), 0, "f.jpg"), tg::Error);
}

TEST_CASE("issue 12.4: the pixel budget is checked from the header, before decoding") {
  const auto dir = temp_dir("image_budget");
  tg::data::write_image(dir / "small.png", pattern(3, 4, 4));
  tg::data::write_image(dir / "small.jpg", pattern(3, 8, 8));
  tg::data::write_image(dir / "small.bmp", pattern(3, 4, 4));
  const Bytes png = read_bytes(dir / "small.png"), jpg = read_bytes(dir / "small.jpg");
  Bytes bmp = read_bytes(dir / "small.bmp");
  put_le32(bmp, 18, 10000), put_le32(bmp, 22, 10000);
  const std::vector<std::pair<std::string, Bytes>> bombs = {
      {"bomb.png", png_claiming(png, 10000, 10000)},
      {"bomb.jpg", jpeg_claiming(jpg, 10000, 10000)},
      {"bomb.bmp", bmp}};
  for (const auto& [name, bytes] : bombs) {
    CAPTURE(name);
    write_bytes(dir / name, bytes);
    CHECK_THROWS_WITH_AS(
        tg::data::read_image(dir / name),
        doctest::Contains(("read_image: " + (dir / name).string() +
                           " claims 10000x10000 = 100000000 pixels, more than max_pixels = "
                           "89478485")
                              .c_str()),
        tg::Error);
  }
  // The budget is an option: 16 pixels pass a budget of 16 and fail one of 15.
  CHECK(tg::data::read_image(dir / "small.png", 0, 16).shape() == tg::Shape{3, 4, 4});
  CHECK_THROWS_WITH_AS(tg::data::read_image(dir / "small.png", 0, 15),
                       doctest::Contains("claims 4x4 = 16 pixels, more than max_pixels = 15"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(tg::data::read_image(dir / "small.png", 0, 0),
                       doctest::Contains("expected max_pixels >= 1, got 0"), tg::Error);
}

TEST_CASE("issue 12.4: truncated BMP, JPEG and PNG files are errors, not partly black images") {
  const auto dir = temp_dir("image_truncated");
  const auto image = noise(3, 32, 32);
  for (const char* name : {"full.bmp", "full.jpg", "full.png"}) {
    CAPTURE(name);
    tg::data::write_image(dir / name, image);
    auto bytes = read_bytes(dir / name);
    CHECK(tg::data::decode_image(bytes.data(), bytes.size(), 3, name).shape() ==
          tg::Shape{3, 32, 32});
    bytes.resize(bytes.size() * 2 / 3);
    CHECK_THROWS_AS(tg::data::decode_image(bytes.data(), bytes.size(), 3, name), tg::Error);
  }
  auto bmp = read_bytes(dir / "full.bmp");
  bmp.resize(bmp.size() - 10);
  CHECK_THROWS_WITH_AS(
      tg::data::decode_image(bmp.data(), bmp.size(), 3, "cut.bmp"),
      doctest::Contains("read_image: the BMP file cut.bmp is truncated: its header describes "
                        "32x32 pixels of 24 bits ending at byte 3126, but the file has 3116"),
      tg::Error);
  auto jpg = read_bytes(dir / "full.jpg");
  jpg.resize(jpg.size() * 2 / 3);
  CHECK_THROWS_WITH_AS(tg::data::decode_image(jpg.data(), jpg.size(), 3, "cut.jpg"),
                       doctest::Contains("cannot decode the JPEG file cut.jpg (libjpeg: Premature "
                                         "end of JPEG file)"),
                       tg::Error);
  auto png = read_bytes(dir / "full.png");
  png.resize(png.size() * 2 / 3);
  CHECK_THROWS_WITH_AS(tg::data::decode_image(png.data(), png.size(), 3, "cut.png"),
                       doctest::Contains("cannot decode the PNG file cut.png (libpng: the file "
                                         "ends before its image data does (truncated))"),
                       tg::Error);
}

TEST_CASE("BMP palettes: colours are looked up, an index past the palette is an error") {
  // 3x2 pixels, 8 bits, a 2-colour palette (blue-green-red-0), rows of 4 bytes, bottom-up.
  Bytes bmp = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 14 + 40 + 8, 0, 0, 0, 40, 0, 0, 0};
  bmp.resize(14 + 40, 0);
  put_le32(bmp, 18, 3), put_le32(bmp, 22, 2);
  bmp[26] = 1, bmp[28] = 8;                                      // planes, bits per pixel
  const Bytes palette = {10, 20, 30, 0, 200, 150, 100, 0};       // colour 0, colour 1
  bmp.insert(bmp.end(), palette.begin(), palette.end());
  const Bytes pixels = {0, 1, 0, 0, 1, 1, 1, 0};                 // bottom row, top row
  bmp.insert(bmp.end(), pixels.begin(), pixels.end());
  const auto image = tg::data::decode_image(bmp.data(), bmp.size(), 3, "pal.bmp");
  REQUIRE(image.shape() == tg::Shape{3, 2, 3});
  CHECK(image(0, 0, 0) == doctest::Approx(100 / 255.0f));  // top row: colour 1, red = 100
  CHECK(image(2, 1, 0) == doctest::Approx(10 / 255.0f));   // bottom row: colour 0, blue = 10
  bmp[bmp.size() - 2] = 5;  // top row, third pixel: colour 5 of 2
  CHECK_THROWS_WITH_AS(tg::data::decode_image(bmp.data(), bmp.size(), 3, "pal.bmp"),
                       doctest::Contains("pixel 2 of stored row 1 uses colour 5 of a 2-colour palette"),
                       tg::Error);
}

TEST_CASE("channel conversion on read follows stb_image (luma weights 77, 150, 29)") {
  const auto dir = temp_dir("image_luma");
  tg::Tensor rgb = tg::empty_tensor({3, 1, 1});
  rgb(0, 0, 0) = 200 / 255.0f, rgb(1, 0, 0) = 100 / 255.0f, rgb(2, 0, 0) = 50 / 255.0f;
  tg::data::write_image(dir / "rgb.png", rgb);
  const auto grey = tg::data::read_image(dir / "rgb.png", 1);
  CHECK(grey(0, 0, 0) == doctest::Approx(((200 * 77 + 100 * 150 + 50 * 29) >> 8) / 255.0f));
  const auto rgba = tg::data::read_image(dir / "rgb.png", 4);
  CHECK(rgba(3, 0, 0) == 1.0f);  // opaque
  CHECK(rgba(1, 0, 0) == doctest::Approx(100 / 255.0f));
}

TEST_CASE("issue 12.4: small files claiming 8192x8192 (within the budget) fail as truncated") {
  const auto dir = temp_dir("image_bomb");
  tg::data::write_image(dir / "small.jpg", pattern(3, 8, 8));
  tg::data::write_image(dir / "small.bmp", pattern(3, 4, 4));
  const Bytes jpg = jpeg_claiming(read_bytes(dir / "small.jpg"), 8192, 8192);
  CHECK_THROWS_WITH_AS(tg::data::decode_image(jpg.data(), jpg.size(), 3, "bomb.jpg"),
                       doctest::Contains("cannot decode the JPEG file bomb.jpg (libjpeg: Corrupt "
                                         "JPEG data: premature end of data segment)"),
                       tg::Error);
  Bytes bmp = read_bytes(dir / "small.bmp");
  put_le32(bmp, 18, 8192), put_le32(bmp, 22, 8192);
  CHECK_THROWS_WITH_AS(tg::data::decode_image(bmp.data(), bmp.size(), 3, "bomb.bmp"),
                       doctest::Contains("bomb.bmp is truncated: its header describes 8192x8192"),
                       tg::Error);
}
