#include "tapegrad/data/byte_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <system_error>

#include "tapegrad/autograd/error.hpp"

namespace tg::data::detail {

ByteReader::ByteReader(std::filesystem::path path, std::string who)
    : path_(std::move(path)), who_(std::move(who)) {
  std::error_code ec;
  file_size_ = std::filesystem::file_size(path_, ec);
  TG_CHECK(!ec, who_, ": cannot read ", path_.string(), " (", ec.message(), ")");
  file_ = gzopen(path_.c_str(), "rb");
  TG_CHECK(file_ != nullptr, who_, ": cannot open ", path_.string());
  gzbuffer(file_, 1 << 17);
  // Called before any read, gzdirect makes zlib look at the first bytes for the gzip magic.
  compressed_ = gzdirect(file_) == 0;
}

ByteReader::~ByteReader() {
  if (file_ != nullptr) gzclose(file_);
}

std::string ByteReader::where() const { return who_ + ": " + path_.string(); }

std::size_t ByteReader::read_some(void* dst, std::size_t n) {
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t total = 0;
  while (total < n) {
    const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - total, 1u << 30));
    const int got = gzread(file_, out + total, chunk);
    if (got < 0) {
      int errnum = Z_OK;
      const char* msg = gzerror(file_, &errnum);
      throw Error(::tg::detail::concat(where(), " is corrupt at byte offset ", offset_ + total,
                                       " of its ", compressed_ ? "decompressed " : "",
                                       "data (zlib: ", msg, ")"));
    }
    if (got == 0) break;
    total += static_cast<std::size_t>(got);
  }
  offset_ += total;
  return total;
}

void ByteReader::read_exact(void* dst, std::size_t n, const char* what) {
  const std::uint64_t start = offset_;
  const std::size_t got = read_some(dst, n);
  TG_CHECK(got == n, where(), " is truncated at byte offset ", start + got,
           compressed_ ? " (decompressed)" : "", ": expected ", n, " bytes of ", what,
           " from offset ", start, ", got ", got);
}

std::vector<std::uint8_t> ByteReader::read_vector(std::size_t n, const char* what) {
  constexpr std::size_t step = std::size_t{16} << 20;
  std::vector<std::uint8_t> data;
  const std::uint64_t start = offset_;
  while (data.size() < n) {
    const std::size_t have = data.size();
    const std::size_t want = std::min(step, n - have);
    data.resize(have + want);
    const std::size_t got = read_some(data.data() + have, want);
    TG_CHECK(got == want, where(), " is truncated at byte offset ", offset_,
             compressed_ ? " (decompressed)" : "", ": expected ", n, " bytes of ", what,
             " from offset ", start, ", got ", have + got);
  }
  return data;
}

void ByteReader::expect_end() {
  unsigned char extra[64];
  const std::uint64_t at = offset_;
  const std::size_t got = read_some(extra, sizeof extra);
  TG_CHECK(got == 0, where(), " has unexpected data after byte offset ", at,
           compressed_ ? " (decompressed)" : "", ": its header does not describe the whole file");
}

std::filesystem::path find_first(const std::vector<std::filesystem::path>& dirs,
                                 const std::vector<std::string>& names) {
  for (const auto& dir : dirs)
    for (const auto& name : names) {
      std::error_code ec;
      if (std::filesystem::is_regular_file(dir / name, ec)) return dir / name;
    }
  return {};
}

std::string join_paths(const std::vector<std::filesystem::path>& paths) {
  std::string out;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (i > 0) out += i + 1 == paths.size() ? " and " : ", ";
    out += paths[i].string();
  }
  return out;
}

void check_index(const char* who, std::size_t index, std::size_t size) {
  TG_CHECK(index < size, who, ".get: expected an index below ", size, ", got ", index);
}

}  // namespace tg::data::detail
