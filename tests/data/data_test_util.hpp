#pragma once
// Helpers of the data tests: a fresh temp folder per test, and the tiny files the tests read.
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace data_test {

using Bytes = std::vector<std::uint8_t>;

/// An empty folder under $TAPEGRAD_TEST_TMP (or the system temp folder) for one test.
inline std::filesystem::path temp_dir(const std::string& name) {
  const char* env = std::getenv("TAPEGRAD_TEST_TMP");
  const std::filesystem::path base = env ? env : std::filesystem::temp_directory_path();
  const auto dir = base / ("tg_data_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_bytes(const std::filesystem::path& path, const Bytes& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

/// Writes bytes gzipped (zlib's gzwrite, the format of the published IDX files).
inline void write_gz(const std::filesystem::path& path, const Bytes& bytes) {
  std::filesystem::create_directories(path.parent_path());
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

inline Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

inline void put_be32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

/// The pixel value the fixtures give pixel p of image i.
inline std::uint8_t fixture_pixel(std::size_t i, std::size_t p) {
  return static_cast<std::uint8_t>((i * 37 + p * 11) % 256);
}

/// An IDX image file: n images of h x w, pixel p of image i = fixture_pixel(i, p).
inline Bytes idx_images(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  Bytes out;
  put_be32(out, 0x00000803);
  put_be32(out, n), put_be32(out, h), put_be32(out, w);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t p = 0; p < std::size_t(h) * w; ++p) out.push_back(fixture_pixel(i, p));
  return out;
}

/// An IDX label file: label i = (3 * i) % 10.
inline Bytes idx_labels(std::uint32_t n) {
  Bytes out;
  put_be32(out, 0x00000801);
  put_be32(out, n);
  for (std::uint32_t i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>((3 * i) % 10));
  return out;
}

}  // namespace data_test
