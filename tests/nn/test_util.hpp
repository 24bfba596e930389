#pragma once
// Helpers shared by the nn tests: a fresh temporary folder per test, raw file writing.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace nn_test {

/// A new empty folder under $TAPEGRAD_TEST_TMP (or the system's temp folder), removed at the end.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    const char* env = std::getenv("TAPEGRAD_TEST_TMP");
    std::filesystem::path root = env && *env ? env : std::filesystem::temp_directory_path();
    path_ =
        root / ("nn_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// Writes bytes as they are.
inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// A safetensors file from its parts: the 8-byte length (`declared`, default the header's), the
/// header text and the data section.
inline std::string safetensors_bytes(const std::string& header, const std::string& data,
                                     std::uint64_t declared = UINT64_MAX) {
  std::uint64_t n = declared == UINT64_MAX ? header.size() : declared;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

/// The folder of the committed fixtures.
inline std::filesystem::path fixtures() {
  return std::filesystem::path(__FILE__).parent_path() / "fixtures";
}

}  // namespace nn_test
