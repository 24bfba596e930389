// JPEG decoding with libjpeg-turbo. libjpeg reports errors through a callback that must not
// return: it longjmps back here, so the functions that call setjmp hold nothing with a destructor
// (longjmp would skip it) and the decoder state lives in JpegDecoder, destroyed by its owner.
#include <csetjmp>
#include <cstdio>  // jpeglib.h uses FILE
#include <cstring>

#include <jerror.h>
#include <jpeglib.h>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/data/image_decode.hpp"

namespace tg::data::detail {

namespace {

// A progressive file may hold any number of scans, each a pass over the whole image: a small
// file can cost minutes of CPU. 500 is the limit of libjpeg-turbo's own fuzzers; real files
// have about 10.
constexpr int kMaxScans = 500;

struct ErrorState {
  jpeg_error_mgr mgr;  // first member: libjpeg hands us &mgr as cinfo->err
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 64];
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* state = reinterpret_cast<ErrorState*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, state->message);
  std::longjmp(state->jump, 1);
}

// libjpeg only warns when data is missing ("premature end of data": it pads with zeros and the
// image comes out partly grey) or garbage; those warnings fail the decode. The others (bytes
// between markers, an odd JFIF version or ICC profile) leave the pixels intact and are ignored.
void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_MUST_RESYNC:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
      on_error(cinfo);
    default:
      return;
  }
}

void limit_scans(j_common_ptr cinfo) {
  const auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (!cinfo->is_decompressor || d->input_scan_number <= kMaxScans) return;
  auto* state = reinterpret_cast<ErrorState*>(cinfo->err);
  std::snprintf(state->message, sizeof state->message,
                "more than %d progressive scans (a CPU-time bomb)", kMaxScans);
  std::longjmp(state->jump, 1);
}

struct JpegDecoder {
  jpeg_decompress_struct cinfo{};
  ErrorState error{};
  jpeg_progress_mgr progress{};
  bool created = false;
  JpegDecoder() = default;
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;
  ~JpegDecoder() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

// Reads the markers up to the first scan. False on error (message in d.error).
bool read_header(JpegDecoder& d, const std::uint8_t* bytes, std::size_t size) {
  d.cinfo.err = jpeg_std_error(&d.error.mgr);
  d.error.mgr.error_exit = on_error;
  d.error.mgr.emit_message = on_message;
  if (setjmp(d.error.jump)) return false;
  jpeg_create_decompress(&d.cinfo);
  d.created = true;
  d.progress.progress_monitor = limit_scans;
  d.cinfo.progress = &d.progress;
  jpeg_mem_src(&d.cinfo, bytes, static_cast<unsigned long>(size));
  jpeg_read_header(&d.cinfo, TRUE);
  return true;
}

// Decodes every scanline into pixels (height rows of width * output_components bytes).
bool read_pixels(JpegDecoder& d, std::uint8_t* pixels) {
  if (setjmp(d.error.jump)) return false;
  jpeg_start_decompress(&d.cinfo);
  const std::size_t row = std::size_t(d.cinfo.output_width) * d.cinfo.output_components;
  while (d.cinfo.output_scanline < d.cinfo.output_height) {
    JSAMPROW rows[1] = {pixels + row * d.cinfo.output_scanline};
    jpeg_read_scanlines(&d.cinfo, rows, 1);
  }
  // No jpeg_finish_decompress: the pixels are complete, and a missing end marker is harmless.
  return true;
}

// Adobe's CMYK JPEGs store inverted inks: R = C * K / 255 (as stb_image and Pillow read them).
void cmyk_to_rgb(DecodedImage& image) {
  const std::size_t n = std::size_t(image.width) * std::size_t(image.height);
  std::uint8_t* p = image.pixels.get();
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned k = p[4 * i + 3];
    for (int j = 0; j < 3; ++j) {
      const unsigned t = p[4 * i + j] * k + 128;
      p[3 * i + j] = static_cast<std::uint8_t>((t + (t >> 8)) >> 8);
    }
  }
  image.channels = 3;
}

}  // namespace

bool is_jpeg(const std::uint8_t* bytes, std::size_t size) {
  return size >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

DecodedImage decode_jpeg(const DecodeRequest& in) {
  JpegDecoder d;
  TG_CHECK(read_header(d, in.bytes, in.size), "read_image: cannot decode the JPEG file ", in.name,
           " (libjpeg: ", d.error.message, ")");
  check_pixel_budget(in, d.cinfo.image_width, d.cinfo.image_height);
  const J_COLOR_SPACE stored = d.cinfo.jpeg_color_space;
  const bool cmyk = stored == JCS_CMYK || stored == JCS_YCCK;
  d.cinfo.out_color_space = stored == JCS_GRAYSCALE ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
  DecodedImage out;
  out.width = static_cast<int>(d.cinfo.image_width);
  out.height = static_cast<int>(d.cinfo.image_height);
  out.channels = stored == JCS_GRAYSCALE ? 1 : cmyk ? 4 : 3;
  out.pixels = allocate_pixels(out.width, out.height, out.channels);
  TG_CHECK(read_pixels(d, out.pixels.get()), "read_image: cannot decode the JPEG file ", in.name,
           " (libjpeg: ", d.error.message, ")");
  TG_CHECK(d.cinfo.output_width == d.cinfo.image_width &&
               d.cinfo.output_height == d.cinfo.image_height &&
               d.cinfo.output_components == out.channels,
           "read_image: ", in.name, " decoded to an unexpected size");
  if (cmyk) cmyk_to_rgb(out);
  return out;
}

}  // namespace tg::data::detail
