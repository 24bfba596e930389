#pragma once
// Image files in and out: PNG/JPEG/BMP decoding (stb_image, with a pixel budget checked before
// decoding) and PNG/JPEG/BMP writing of tensors and image grids (stb_image_write).
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "autograd/tensor.hpp"

namespace tg::data {

/// Largest side and pixel count a decoder accepts (a hostile header must not allocate gigabytes).
inline constexpr int kMaxImageSide = 8192;
inline constexpr std::int64_t kMaxImagePixels = std::int64_t{64} << 20;

/// Decodes PNG/JPEG/BMP bytes to [C, H, W] floats in [0, 1]. channels: 1 (grey), 3 (RGB),
/// 4 (RGBA) or 0 (as stored: 1 for grey files, else 3). `name` is used in messages.
Tensor decode_image(const std::uint8_t* bytes, std::size_t size, int channels,
                    const std::string& name);
/// Reads and decodes an image file (see decode_image).
Tensor read_image(const std::filesystem::path& path, int channels = 0);

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
