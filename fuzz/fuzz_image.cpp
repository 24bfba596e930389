// read_image's decoders (PNG: libpng, JPEG: libjpeg-turbo, BMP: stb_image behind our header
// check) on arbitrary bytes: either a tensor of the claimed size or a tg::Error.
#include <cstddef>
#include <cstdint>

#include <tapegrad/autograd/error.hpp>
#include <tapegrad/data/image_io.hpp>

// 4 Mpixel instead of the default 89 M: allocations stay within libFuzzer's 2 GiB limit and
// inputs fast, while every header path is still reached.
constexpr std::int64_t kFuzzMaxPixels = std::int64_t{1} << 22;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The last byte picks the channels asked for, so every conversion is exercised.
  const int channels[4] = {0, 1, 3, 4};
  const int want = size > 0 ? channels[data[size - 1] % 4] : 0;
  try {
    const tg::Tensor image = tg::data::decode_image(data, size, want, "input", kFuzzMaxPixels);
    if (image.dimension() != 3 || image.shape()[0] < 1 || image.shape()[0] > 4) __builtin_trap();
  } catch (const tg::Error&) {
  }
  return 0;
}
