#include "tapegrad/data/image_io.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/data/image_decode.hpp"

// stb_image_write encodes the files we write (our own tensors, never hostile input); decoding
// is in image_png.cpp, image_jpeg.cpp and image_bmp.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace tg::data {

namespace {

constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{1} << 30;

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  TG_CHECK(!ec, "read_image: cannot read ", path.string(), " (", ec.message(), ")");
  TG_CHECK(size <= kMaxFileBytes, "read_image: expected a file of at most ", kMaxFileBytes,
           " bytes, got ", size, " in ", path.string());
  std::vector<std::uint8_t> bytes(size);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  TG_CHECK(in.good() || (size == 0 && in), "read_image: cannot read ", path.string());
  return bytes;
}

// stb_image's luma, so that RGB files read as grey give the values they always gave.
std::uint8_t luma(const std::uint8_t* rgb) {
  return static_cast<std::uint8_t>((rgb[0] * 77 + rgb[1] * 150 + rgb[2] * 29) >> 8);
}

// Stored pixels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) -> [want, H, W] floats in [0, 1],
// converting channels as stb_image does: grey replicated, alpha dropped or set opaque.
Tensor to_tensor(const detail::DecodedImage& image, int want) {
  const std::size_t plane = std::size_t(image.width) * std::size_t(image.height);
  const std::size_t c = std::size_t(image.channels), k_out = std::size_t(want);
  const bool colour = c >= 3, alpha = c == 2 || c == 4;
  Tensor out = empty_tensor({k_out, std::size_t(image.height), std::size_t(image.width)});
  float* dst = out.data();
  const std::uint8_t* src = image.pixels.get();
  constexpr float scale = 1.0f / 255.0f;
  for (std::size_t p = 0; p < plane; ++p) {
    const std::uint8_t* px = src + p * c;
    const std::uint8_t grey = colour ? luma(px) : px[0];
    for (std::size_t k = 0; k < k_out; ++k) {
      std::uint8_t v;
      if (k == 3) v = alpha ? px[c - 1] : 255;
      else if (k_out == 1) v = grey;
      else v = colour ? px[k] : px[0];
      dst[k * plane + p] = v * scale;
    }
  }
  return out;
}

void check_finite(const Tensor& t, const char* who) {
  const float* p = t.data();
  for (std::size_t i = 0; i < t.size(); ++i)
    TG_CHECK(std::isfinite(p[i]), who, ": expected finite values, got ", p[i], " at element ", i);
}

// Min-max scaling to [0, 1] (torchvision's normalize=True); a constant tensor becomes 0.
Tensor min_max_normalize(const Tensor& t) {
  const auto [lo, hi] = std::minmax_element(t.data(), t.data() + t.size());
  const float low = t.size() ? *lo : 0.0f;
  const float scale = 1.0f / std::max((t.size() ? *hi : 0.0f) - low, 1e-5f);
  Tensor out = empty_tensor(t.shape());
  for (std::size_t i = 0; i < t.size(); ++i) out.data()[i] = (t.data()[i] - low) * scale;
  return out;
}

// [C, H, W] or [H, W] floats -> [H, W, C] bytes, round(255 * clamp(v, 0, 1)).
std::vector<std::uint8_t> to_bytes(const Tensor& image, int& h, int& w, int& c) {
  const auto& s = image.shape();
  const bool planar = image.dimension() == 3;
  c = planar ? static_cast<int>(s[0]) : 1;
  h = static_cast<int>(s[planar ? 1 : 0]);
  w = static_cast<int>(s[planar ? 2 : 1]);
  const std::size_t plane = std::size_t(h) * w;
  std::vector<std::uint8_t> bytes(plane * c);
  for (std::size_t k = 0; k < std::size_t(c); ++k)
    for (std::size_t p = 0; p < plane; ++p) {
      const float v = std::clamp(image.data()[k * plane + p], 0.0f, 1.0f);
      bytes[p * c + k] = static_cast<std::uint8_t>(v * 255.0f + 0.5f);
    }
  return bytes;
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* p = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

std::string lower_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  return ext;
}

void write_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes,
                const char* who) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  TG_CHECK(out.is_open(), who, ": cannot open ", path.string(), " for writing");
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  TG_CHECK(!out.fail(), who, ": cannot write ", path.string());
}

void encode_and_write(const std::filesystem::path& path, const Tensor& image,
                      const ImageWriteOptions& options, std::string ext, const char* who) {
  const auto& s = image.shape();
  TG_CHECK(
      (image.dimension() == 3 && (s[0] == 1 || s[0] == 3 || s[0] == 4)) || image.dimension() == 2,
      who, ": expected an image of shape [C, H, W] with C = 1, 3 or 4, or [H, W], got ",
      shape_str(s));
  const std::size_t h = s[image.dimension() - 2], w = s[image.dimension() - 1];
  TG_CHECK(h >= 1 && w >= 1 && h <= 65535 && w <= 65535, who,
           ": expected sides in [1, 65535], got ", shape_str(s));
  check_finite(image, who);
  int height = 0, width = 0, c = 0;
  const auto pixels =
      to_bytes(options.normalize ? min_max_normalize(image) : image, height, width, c);
  std::vector<std::uint8_t> file;
  int ok = 0;
  if (ext == ".png") {
    ok = stbi_write_png_to_func(append_bytes, &file, width, height, c, pixels.data(), width * c);
  } else if (ext == ".bmp") {
    ok = stbi_write_bmp_to_func(append_bytes, &file, width, height, c, pixels.data());
  } else if (ext == ".jpg" || ext == ".jpeg") {
    TG_CHECK(options.quality >= 1 && options.quality <= 100, who,
             ": expected a JPEG quality in [1, 100], got ", options.quality);
    ok = stbi_write_jpg_to_func(append_bytes, &file, width, height, c, pixels.data(),
                                options.quality);
  } else {
    throw Error(::tg::detail::concat(who, ": expected a .png, .bmp, .jpg or .jpeg file name, got ",
                                     path.string()));
  }
  TG_CHECK(ok != 0, who, ": could not encode ", path.string());
  write_file(path, file, who);
}

}  // namespace

Tensor decode_image(const std::uint8_t* bytes, std::size_t size, int channels,
                    const std::string& name, std::int64_t max_pixels) {
  TG_CHECK(channels == 0 || channels == 1 || channels == 3 || channels == 4,
           "read_image: expected channels 0, 1, 3 or 4, got ", channels);
  TG_CHECK(max_pixels >= 1, "read_image: expected max_pixels >= 1, got ", max_pixels);
  TG_CHECK(size > 0 && size <= INT_MAX, "read_image: expected 1 to ", INT_MAX, " bytes, got ", size,
           " in ", name);
  const detail::DecodeRequest in{bytes, size, name, max_pixels};
  detail::DecodedImage image;
  if (detail::is_png(bytes, size)) {
    image = detail::decode_png(in);
  } else if (detail::is_jpeg(bytes, size)) {
    image = detail::decode_jpeg(in);
  } else if (detail::is_bmp(bytes, size)) {
    image = detail::decode_bmp(in);
  } else {
    throw Error(::tg::detail::concat("read_image: ", name,
                                     " is not a PNG, JPEG or BMP image (its first bytes are none "
                                     "of their signatures)"));
  }
  const int want = channels != 0 ? channels : (image.channels <= 2 ? 1 : 3);
  return to_tensor(image, want);
}

Tensor read_image(const std::filesystem::path& path, int channels, std::int64_t max_pixels) {
  const auto bytes = read_bytes(path);
  return decode_image(bytes.data(), bytes.size(), channels, path.string(), max_pixels);
}

void write_image(const std::filesystem::path& path, const Tensor& image,
                 ImageWriteOptions options) {
  encode_and_write(path, image, options, lower_extension(path), "write_image");
}

void write_png(const std::filesystem::path& path, const Tensor& image, ImageWriteOptions options) {
  encode_and_write(path, image, options, ".png", "write_png");
}

Tensor make_grid(const Tensor& images, std::int64_t nrow, std::int64_t padding, bool normalize,
                 float pad_value) {
  const auto& s = images.shape();
  TG_CHECK(images.dimension() == 4 && s[0] >= 1,
           "make_grid: expected images of shape [N, C, H, W] with N >= 1, got ", shape_str(s));
  TG_CHECK(nrow >= 1 && padding >= 0,
           "make_grid: expected nrow >= 1 and padding >= 0, got nrow = ", nrow,
           ", padding = ", padding);
  check_finite(images, "make_grid");
  const Tensor source = normalize ? min_max_normalize(images) : images;
  const std::size_t n = s[0], c = s[1], h = s[2], w = s[3], pad = std::size_t(padding);
  if (n == 1) {  // torchvision returns a lone image as it is, without padding
    Tensor one = empty_tensor({c, h, w});
    std::copy(source.data(), source.data() + source.size(), one.data());
    return one;
  }
  const std::size_t cols = std::min<std::size_t>(std::size_t(nrow), n);
  const std::size_t rows = (n + cols - 1) / cols;
  const std::size_t gh = rows * (h + pad) + pad, gw = cols * (w + pad) + pad;
  Tensor grid = empty_tensor({c, gh, gw});
  std::fill(grid.data(), grid.data() + grid.size(), pad_value);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t top = (i / cols) * (h + pad) + pad, left = (i % cols) * (w + pad) + pad;
    for (std::size_t k = 0; k < c; ++k)
      for (std::size_t y = 0; y < h; ++y) {
        const float* src = source.data() + ((i * c + k) * h + y) * w;
        std::copy(src, src + w, grid.data() + (k * gh + top + y) * gw + left);
      }
  }
  return grid;
}

void save_grid(const std::filesystem::path& path, const Tensor& images, std::int64_t nrow,
               std::int64_t padding, bool normalize) {
  write_png(path, make_grid(images, nrow, padding, normalize), {});
}

namespace detail {

void check_pixel_budget(const DecodeRequest& in, std::int64_t width, std::int64_t height) {
  TG_CHECK(width >= 1 && height >= 1, "read_image: ", in.name, " claims ", width, "x", height,
           " pixels: expected at least 1x1 (the file is corrupt)");
  TG_CHECK(width <= in.max_pixels && height <= in.max_pixels / width, "read_image: ", in.name,
           " claims ", width, "x", height, " = ", width * height,
           " pixels, more than max_pixels = ", in.max_pixels,
           " (a guard against decompression bombs, Pillow's MAX_IMAGE_PIXELS); if you trust the "
           "file, raise max_pixels (read_image's argument or ImageFolderOptions::max_pixels)");
}

std::unique_ptr<std::uint8_t[]> allocate_pixels(std::int64_t width, std::int64_t height,
                                                int channels) {
  return std::unique_ptr<std::uint8_t[]>(
      new std::uint8_t[std::size_t(width) * std::size_t(height) * std::size_t(channels)]);
}

}  // namespace detail

}  // namespace tg::data
