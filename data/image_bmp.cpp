// BMP decoding: stb_image behind a header check of ours. BMP has no compression that stb
// accepts (RLE and embedded JPEG/PNG are refused), so the whole file layout follows from the
// header: we check that the pixel rows fit in the file (stb_image reads missing bytes as zeros)
// and that every palette index names a colour that is in the file (stb_image reads the rest of
// its palette from uninitialised memory), then let stb_image decode.
#include <climits>
#include <cstdlib>
#include <memory>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/data/image_decode.hpp"

// stb is compiled here for BMP only, static to this file, without stdio.
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
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace tg::data::detail {

namespace {

std::uint32_t le16(const std::uint8_t* p) { return p[0] | (std::uint32_t{p[1]} << 8); }
std::uint32_t le32(const std::uint8_t* p) { return le16(p) | (le16(p + 2) << 16); }

// What the header says, in the terms stb_image uses (stbi__bmp_parse_header / stbi__bmp_load).
struct BmpLayout {
  std::int64_t width = 0, height = 0;  // height as a row count (negative: stored top-down)
  std::uint32_t offset = 0, header = 0, bpp = 0;
  std::int64_t palette = 0;  // palette entries stb reads
};

BmpLayout parse_header(const DecodeRequest& in) {
  const std::uint8_t* b = in.bytes;
  TG_CHECK(in.size >= 26, "read_image: the BMP file ", in.name, " is truncated: ", in.size,
           " bytes, shorter than its header");
  BmpLayout l;
  l.offset = le32(b + 10);
  l.header = le32(b + 14);
  TG_CHECK(l.header == 12 || l.header == 40 || l.header == 56 || l.header == 108 ||
               l.header == 124,
           "read_image: ", in.name, " is a BMP file of an unsupported kind (header size ",
           l.header, ")");
  TG_CHECK(in.size >= 14 + l.header + 4, "read_image: the BMP file ", in.name,
           " is truncated: ", in.size, " bytes, shorter than its ", l.header, "-byte header");
  if (l.header == 12) {
    l.width = le16(b + 18), l.height = le16(b + 20), l.bpp = le16(b + 24);
  } else {
    l.width = static_cast<std::int32_t>(le32(b + 18));
    l.height = static_cast<std::int32_t>(le32(b + 22));
    l.bpp = le16(b + 28);
  }
  TG_CHECK(l.bpp == 1 || l.bpp == 4 || l.bpp == 8 || l.bpp == 16 || l.bpp == 24 || l.bpp == 32,
           "read_image: ", in.name, " is a BMP file with ", l.bpp,
           " bits per pixel, expected 1, 4, 8, 16, 24 or 32");
  if (l.bpp < 16) {  // the palette lies between header and pixels: stb's count, as it computes it
    const std::int64_t offset = l.offset;
    l.palette = l.header == 12 ? (offset - 14 - 24) / 3 : (offset - 14 - l.header) / 4;
  }
  return l;
}

// Bytes per stored row: width * bpp bits rounded up to whole 4-byte words.
std::int64_t row_bytes(const BmpLayout& l) { return (l.width * l.bpp + 31) / 32 * 4; }

// Every palette index in the pixel rows must be below the palette size.
void check_palette_indices(const DecodeRequest& in, const BmpLayout& l, std::int64_t rows) {
  const std::int64_t stride = row_bytes(l);
  const unsigned mask = (1u << l.bpp) - 1;
  for (std::int64_t y = 0; y < rows; ++y) {
    const std::uint8_t* row = in.bytes + l.offset + y * stride;
    for (std::int64_t x = 0; x < l.width; ++x) {
      const std::int64_t bit = x * l.bpp;
      const unsigned shift = 8 - l.bpp - unsigned(bit % 8);
      const unsigned index = (row[bit / 8] >> shift) & mask;
      TG_CHECK(index < l.palette, "read_image: the BMP file ", in.name, " is corrupt: pixel ", x,
               " of stored row ", y, " uses colour ", index, " of a ", l.palette,
               "-colour palette");
    }
  }
}

struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

}  // namespace

bool is_bmp(const std::uint8_t* bytes, std::size_t size) {
  return size >= 2 && bytes[0] == 'B' && bytes[1] == 'M';
}

DecodedImage decode_bmp(const DecodeRequest& in) {
  const BmpLayout l = parse_header(in);
  TG_CHECK(l.height != INT_MIN, "read_image: ", in.name, " is a corrupt BMP file (height ",
           l.height, ")");
  const std::int64_t rows = std::abs(l.height);
  check_pixel_budget(in, l.width, rows);
  const std::int64_t need = std::int64_t{l.offset} + row_bytes(l) * rows;
  TG_CHECK(std::int64_t(in.size) >= need, "read_image: the BMP file ", in.name,
           " is truncated: its header describes ", l.width, "x", rows, " pixels of ", l.bpp,
           " bits ending at byte ", need, ", but the file has ", in.size, " bytes");
  if (l.bpp < 16) {
    TG_CHECK(l.palette >= 1 && l.palette <= 256, "read_image: the BMP file ", in.name,
             " is corrupt: its palette has ", l.palette, " colours, expected 1 to 256");
    check_palette_indices(in, l, rows);
  }
  int w = 0, h = 0, c = 0;
  std::unique_ptr<stbi_uc, StbFree> px(
      stbi_load_from_memory(in.bytes, static_cast<int>(in.size), &w, &h, &c, 0));
  TG_CHECK(px != nullptr, "read_image: cannot decode the BMP file ", in.name,
           " (stb_image: ", stbi_failure_reason(), ")");
  TG_CHECK(w == l.width && h == rows && (c == 3 || c == 4), "read_image: ", in.name,
           " decoded to ", w, "x", h, " pixels, but its header says ", l.width, "x", rows);
  DecodedImage out;
  out.width = w, out.height = h, out.channels = c;
  out.pixels = allocate_pixels(w, h, c);
  std::copy(px.get(), px.get() + std::size_t(w) * std::size_t(h) * std::size_t(c),
            out.pixels.get());
  return out;
}

}  // namespace tg::data::detail
