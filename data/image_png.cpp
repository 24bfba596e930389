// PNG decoding with libpng. As with libjpeg, errors longjmp back into the function that called
// setjmp, so those functions hold nothing with a destructor; PngDecoder owns libpng's state.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/data/image_decode.hpp"

namespace tg::data::detail {

namespace {

struct PngDecoder {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const std::uint8_t* next = nullptr;  // unread bytes
  std::size_t left = 0;
  char message[256] = "out of memory";
  PngDecoder() = default;
  PngDecoder(const PngDecoder&) = delete;
  PngDecoder& operator=(const PngDecoder&) = delete;
  ~PngDecoder() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

[[noreturn]] void on_error(png_structp png, png_const_charp message) {
  auto* d = static_cast<PngDecoder*>(png_get_error_ptr(png));
  std::snprintf(d->message, sizeof d->message, "%s", message);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // e.g. a bad ancillary chunk, skipped

// A file that ends early is an error (libpng would otherwise stop with rows left unwritten).
void read_from_memory(png_structp png, png_bytep out, std::size_t n) {
  auto* d = static_cast<PngDecoder*>(png_get_io_ptr(png));
  if (n > d->left) png_error(png, "the file ends before its image data does (truncated)");
  std::memcpy(out, d->next, n);
  d->next += n;
  d->left -= n;
}

// Reads the chunks before the image data and sets up the conversion to 8-bit grey, grey+alpha,
// RGB or RGBA (palettes expanded, transparency to alpha, 16 bits to their high byte as stb_image
// does; no gamma correction, as stb_image and PyTorch's readers). False on error.
bool read_header(PngDecoder& d) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  d.info = png_create_info_struct(d.png);
  if (d.info == nullptr) return false;
  png_set_read_fn(d.png, &d, read_from_memory);
  png_read_info(d.png, d.info);
  png_set_expand(d.png);
  png_set_strip_16(d.png);
  png_set_interlace_handling(d.png);
  png_read_update_info(d.png, d.info);
  return true;
}

bool read_pixels(PngDecoder& d, png_bytepp rows) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  png_read_image(d.png, rows);
  return true;
}

}  // namespace

bool is_png(const std::uint8_t* bytes, std::size_t size) {
  return size >= 8 && png_sig_cmp(bytes, 0, 8) == 0;
}

DecodedImage decode_png(const DecodeRequest& in) {
  PngDecoder d;
  d.next = in.bytes;
  d.left = in.size;
  d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d, on_error, on_warning);
  TG_CHECK(d.png != nullptr, "read_image: cannot start libpng for ", in.name);
  TG_CHECK(read_header(d), "read_image: cannot decode the PNG file ", in.name, " (libpng: ",
           d.message, ")");
  DecodedImage out;
  check_pixel_budget(in, png_get_image_width(d.png, d.info), png_get_image_height(d.png, d.info));
  out.width = static_cast<int>(png_get_image_width(d.png, d.info));
  out.height = static_cast<int>(png_get_image_height(d.png, d.info));
  out.channels = png_get_channels(d.png, d.info);
  const std::size_t row = std::size_t(out.width) * std::size_t(out.channels);
  TG_CHECK(out.channels >= 1 && out.channels <= 4 && png_get_rowbytes(d.png, d.info) == row,
           "read_image: ", in.name, " has an unexpected PNG pixel layout");
  out.pixels = allocate_pixels(out.width, out.height, out.channels);
  std::vector<png_bytep> rows(std::size_t(out.height));
  for (std::size_t y = 0; y < rows.size(); ++y) rows[y] = out.pixels.get() + y * row;
  TG_CHECK(read_pixels(d, rows.data()), "read_image: cannot decode the PNG file ", in.name,
           " (libpng: ", d.message, ")");
  return out;
}

}  // namespace tg::data::detail
