#pragma once
// Internal: reads a dataset file that may be gzipped (detected from its content), with reads of
// an exact size whose failures name the file and the offset. Not part of the public API.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

struct gzFile_s;

namespace tg::data::detail {

/// A file opened for sequential reading; gzip data is inflated transparently (zlib checks its CRC).
class ByteReader {
 public:
  /// Opens `path`; `who` prefixes every error message ("FashionMNIST").
  ByteReader(std::filesystem::path path, std::string who);
  ~ByteReader();
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  /// Reads exactly n bytes (`what` names them in the error: "image data").
  void read_exact(void* dst, std::size_t n, const char* what);
  /// Reads exactly n bytes into a vector grown as data arrives, so that a hostile header
  /// claiming gigabytes fails at the end of the real data instead of allocating them up front.
  std::vector<std::uint8_t> read_vector(std::size_t n, const char* what);
  /// Throws unless nothing follows (a header that undercounts its data is corrupt too).
  void expect_end();

  bool compressed() const { return compressed_; }
  /// Size of the file on disk.
  std::uint64_t file_size() const { return file_size_; }
  /// Bytes (decompressed) consumed so far.
  std::uint64_t offset() const { return offset_; }
  const std::filesystem::path& path() const { return path_; }
  /// "<who>: <path>" for messages.
  std::string where() const;

 private:
  std::size_t read_some(void* dst, std::size_t n);

  std::filesystem::path path_;
  std::string who_;
  gzFile_s* file_ = nullptr;
  std::uint64_t file_size_ = 0;
  std::uint64_t offset_ = 0;
  bool compressed_ = false;
};

/// Big-endian 32-bit integer (IDX headers).
inline std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

/// The first of `names` found in any of `dirs` (in that order), or an empty path.
std::filesystem::path find_first(const std::vector<std::filesystem::path>& dirs,
                                 const std::vector<std::string>& names);

/// "a, b and c" for messages.
std::string join_paths(const std::vector<std::filesystem::path>& paths);

/// TG_CHECK(index < size) with the dataset's name.
void check_index(const char* who, std::size_t index, std::size_t size);

}  // namespace tg::data::detail
