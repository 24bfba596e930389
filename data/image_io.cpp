#include "data/image_io.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "autograd/error.hpp"

// stb is not hardened against hostile files: only the three formats we need, no stdio (we read
// and write the bytes ourselves), the pixel budget checked with stbi_info_from_memory before
// decoding (stb's own cap stays at its default so that our message, not "unknown image type",
// reports a hostile header), and every function static to this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wtype-limits"
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#include <stb/stb_image.h>
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

struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

// [H, W, C] bytes -> [C, H, W] floats in [0, 1].
Tensor planar_from_interleaved(const stbi_uc* px, std::size_t h, std::size_t w, std::size_t c) {
  Tensor image = empty({c, h, w});
  float* out = image.data();
  const std::size_t plane = h * w;
  for (std::size_t p = 0; p < plane; ++p)
    for (std::size_t k = 0; k < c; ++k) out[k * plane + p] = px[p * c + k] * (1.0f / 255.0f);
  return image;
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
  Tensor out = empty(t.shape());
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
                    const std::string& name) {
  TG_CHECK(channels == 0 || channels == 1 || channels == 3 || channels == 4,
           "read_image: expected channels 0, 1, 3 or 4, got ", channels);
  TG_CHECK(size > 0 && size <= INT_MAX, "read_image: expected 1 to ", INT_MAX, " bytes, got ", size,
           " in ", name);
  int w = 0, h = 0, stored = 0;
  const int len = static_cast<int>(size);
  TG_CHECK(stbi_info_from_memory(bytes, len, &w, &h, &stored) == 1, "read_image: ", name,
           " is not a PNG, JPEG or BMP image, or is corrupt (stb_image: ", stbi_failure_reason(),
           ")");
  TG_CHECK(w >= 1 && h >= 1 && w <= kMaxImageSide && h <= kMaxImageSide &&
               std::int64_t{w} * h <= kMaxImagePixels,
           "read_image: expected an image of at most ", kMaxImageSide, "x", kMaxImageSide,
           " pixels, got ", w, "x", h, " in the header of ", name);
  const int want = channels != 0 ? channels : (stored <= 2 ? 1 : 3);
  int w2 = 0, h2 = 0, c2 = 0;
  std::unique_ptr<stbi_uc, StbFree> px(stbi_load_from_memory(bytes, len, &w2, &h2, &c2, want));
  TG_CHECK(px != nullptr, "read_image: cannot decode ", name,
           " (stb_image: ", stbi_failure_reason(), ")");
  TG_CHECK(w2 == w && h2 == h, "read_image: ", name, " decoded to ", w2, "x", h2,
           " pixels, but its header says ", w, "x", h);
  return planar_from_interleaved(px.get(), std::size_t(h), std::size_t(w), std::size_t(want));
}

Tensor read_image(const std::filesystem::path& path, int channels) {
  const auto bytes = read_bytes(path);
  return decode_image(bytes.data(), bytes.size(), channels, path.string());
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
    Tensor one = empty({c, h, w});
    std::copy(source.data(), source.data() + source.size(), one.data());
    return one;
  }
  const std::size_t cols = std::min<std::size_t>(std::size_t(nrow), n);
  const std::size_t rows = (n + cols - 1) / cols;
  const std::size_t gh = rows * (h + pad) + pad, gw = cols * (w + pad) + pad;
  Tensor grid = empty({c, gh, gw});
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

}  // namespace tg::data
