#pragma once
/// @file
/// Image files in and out: PNG/JPEG/BMP decoding (libpng, libjpeg-turbo, and stb_image for BMP
/// behind a header check), with a pixel budget checked from the header before decoding, and
/// PNG/JPEG/BMP writing of tensors and image grids (stb_image_write).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "tapegrad/autograd/tensor.hpp"

namespace tg::data {

/// Default pixel budget of the readers: Pillow's MAX_IMAGE_PIXELS, 1 GiB / 4 bytes / 3 channels
/// (an RGB image of floats fits in 1 GiB), so that a few hundred hostile bytes claiming
/// 100000x100000 pixels cannot make the reader allocate tens of gigabytes.
inline constexpr std::int64_t kDefaultMaxImagePixels = 89'478'485;

/// Decodes PNG/JPEG/BMP bytes to [C, H, W] floats in [0, 1]. channels: 1 (grey), 3 (RGB),
/// 4 (RGBA) or 0 (as stored: 1 for grey files, else 3). `name` is used in messages.
/// Throws tg::Error, before decoding, when the header claims more than max_pixels pixels, and
/// for a corrupt or truncated file (never a partly black image).
Tensor decode_image(const std::uint8_t* bytes, std::size_t size, int channels,
                    const std::string& name, std::int64_t max_pixels = kDefaultMaxImagePixels);
/// Reads and decodes an image file (see decode_image).
Tensor read_image(const std::filesystem::path& path, int channels = 0,
                  std::int64_t max_pixels = kDefaultMaxImagePixels);

/// How write_image turns values into bytes.
struct ImageWriteOptions {
  bool normalize = false;  ///< min-max normalise to [0, 1] first (kernels, feature maps)
  int quality = 95;        ///< JPEG quality, 1..100
};

/// Writes an image [C, H, W] (C = 1, 3 or 4) or [H, W]: values clamped to [0, 1], then
/// round(255 v). The format follows the extension: .png, .bmp, .jpg or .jpeg.
void write_image(const std::filesystem::path& path, const Tensor& image,
                 ImageWriteOptions options = {});
/// write_image as PNG whatever the extension.
void write_png(const std::filesystem::path& path, const Tensor& image,
               ImageWriteOptions options = {});

/// torchvision's make_grid: images [N, C, H, W] tiled nrow per row with `padding` pixels of
/// pad_value between and around them; normalize min-max scales the whole batch to [0, 1].
Tensor make_grid(const Tensor& images, std::int64_t nrow = 8, std::int64_t padding = 2,
                 bool normalize = false, float pad_value = 0.0f);
/// make_grid written as a PNG (torchvision's save_image).
void save_grid(const std::filesystem::path& path, const Tensor& images, std::int64_t nrow = 8,
               std::int64_t padding = 2, bool normalize = false);

}  // namespace tg::data
