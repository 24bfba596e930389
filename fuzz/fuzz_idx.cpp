// MNIST (IDX files, plain or gzipped) on an arbitrary pair of files. Input layout: a 4-byte
// little-endian length n, then n bytes of t10k-images-idx3-ubyte, then t10k-labels-idx1-ubyte
// (a gzip magic at the start of either part makes it the .gz variant).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include <tapegrad/autograd/error.hpp>
#include <tapegrad/data/mnist.hpp>
#include "fuzz_util.hpp"

namespace {

void write_part(const char* base, const std::uint8_t* data, std::size_t size) {
  const bool gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  std::error_code ec;  // only one of the plain and .gz names may exist
  std::filesystem::remove(tg_fuzz::work_dir() / base, ec);
  std::filesystem::remove(tg_fuzz::work_dir() / (std::string(base) + ".gz"), ec);
  tg_fuzz::write_input(gz ? std::string(base) + ".gz" : base, data, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const std::size_t n = std::min<std::size_t>(
      size - 4, data[0] | (std::size_t{data[1]} << 8) | (std::size_t{data[2]} << 16) |
                    (std::size_t{data[3]} << 24));
  write_part("t10k-images-idx3-ubyte", data + 4, n);
  write_part("t10k-labels-idx1-ubyte", data + 4 + n, size - 4 - n);
  try {
    const tg::data::MNIST mnist(tg_fuzz::work_dir(), tg::data::Split::Test);
    for (std::size_t i = 0; i < mnist.size(); ++i)
      if (mnist.get(i).data.size() != mnist.height() * mnist.width()) __builtin_trap();
  } catch (const tg::Error&) {
  }
  return 0;
}
