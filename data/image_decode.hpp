#pragma once
// Internal: the three image decoders behind read_image, each hardened against hostile files.
// PNG: libpng, JPEG: libjpeg-turbo (both fuzzed upstream by OSS-Fuzz and patched by Debian's
// security team), BMP: stb_image behind a header check of ours (image_bmp.cpp says why).
// Every decoder reads the claimed size first and calls check_pixel_budget before allocating,
// and rejects a file whose pixel data is cut short instead of filling the rest with zeros.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tg::data::detail {

/// Interleaved 8-bit pixels as stored: 1 grey, 2 grey+alpha, 3 RGB or 4 RGBA channels.
struct DecodedImage {
  int width = 0, height = 0, channels = 0;
  std::unique_ptr<std::uint8_t[]> pixels;  // height * width * channels bytes
};

/// Where the bytes come from, for messages and for the pixel budget.
struct DecodeRequest {
  const std::uint8_t* bytes;
  std::size_t size;
  const std::string& name;
  std::int64_t max_pixels;
};

/// Throws tg::Error unless 1 <= width, height and width * height <= max_pixels.
void check_pixel_budget(const DecodeRequest& in, std::int64_t width, std::int64_t height);
/// Uninitialised storage for the pixels (pages a truncated file never reaches stay untouched).
std::unique_ptr<std::uint8_t[]> allocate_pixels(std::int64_t width, std::int64_t height,
                                                int channels);

bool is_png(const std::uint8_t* bytes, std::size_t size);
bool is_jpeg(const std::uint8_t* bytes, std::size_t size);
bool is_bmp(const std::uint8_t* bytes, std::size_t size);

DecodedImage decode_png(const DecodeRequest& in);
DecodedImage decode_jpeg(const DecodeRequest& in);
DecodedImage decode_bmp(const DecodeRequest& in);

}  // namespace tg::data::detail
