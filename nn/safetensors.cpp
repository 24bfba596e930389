#include "tapegrad/nn/safetensors.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/nn/atomic_file.hpp"
#include "tapegrad/nn/json_check.hpp"

namespace tg::nn {

namespace {

using json = nlohmann::json;

struct DtypeInfo {
  Dtype dtype;
  const char* name;
  std::size_t size;
};

constexpr DtypeInfo kDtypes[] = {{Dtype::F32, "F32", 4}, {Dtype::F64, "F64", 8},
                                 {Dtype::F16, "F16", 2}, {Dtype::BF16, "BF16", 2},
                                 {Dtype::I64, "I64", 8}, {Dtype::I32, "I32", 4},
                                 {Dtype::I16, "I16", 2}, {Dtype::I8, "I8", 1},
                                 {Dtype::U8, "U8", 1},   {Dtype::BOOL, "BOOL", 1}};

const DtypeInfo& info(Dtype dtype) {
  for (const auto& d : kDtypes)
    if (d.dtype == dtype) return d;
  TG_ASSERT(false, "unknown dtype");
}

std::optional<Dtype> parse_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.dtype;
  return std::nullopt;
}

// ------------------------------------------------------------------ little-endian conversion

std::uint64_t load_le(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

void store_le(unsigned char* p, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i, v >>= 8) p[i] = static_cast<unsigned char>(v & 0xff);
}

float half_to_float(std::uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  float v;
  if (exponent == 0)
    v = std::ldexp(static_cast<float>(mantissa), -24);  // subnormal
  else if (exponent == 31)
    v = mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    v = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  return (h & 0x8000) ? -v : v;
}

float element_to_float(Dtype dtype, const unsigned char* p) {
  switch (dtype) {
    case Dtype::F32:
      return std::bit_cast<float>(static_cast<std::uint32_t>(load_le(p, 4)));
    case Dtype::F64:
      return static_cast<float>(std::bit_cast<double>(load_le(p, 8)));
    case Dtype::F16:
      return half_to_float(static_cast<std::uint16_t>(load_le(p, 2)));
    case Dtype::BF16:
      return std::bit_cast<float>(static_cast<std::uint32_t>(load_le(p, 2) << 16));
    case Dtype::I64:
      return static_cast<float>(static_cast<std::int64_t>(load_le(p, 8)));
    case Dtype::I32:
      return static_cast<float>(static_cast<std::int32_t>(load_le(p, 4)));
    case Dtype::I16:
      return static_cast<float>(static_cast<std::int16_t>(load_le(p, 2)));
    case Dtype::I8:
      return static_cast<float>(static_cast<std::int8_t>(p[0]));
    case Dtype::U8:
      return static_cast<float>(p[0]);
    case Dtype::BOOL:
      return p[0] != 0 ? 1.0f : 0.0f;
  }
  TG_ASSERT(false, "unknown dtype");
}

// ------------------------------------------------------------------------------------ reading

struct Entry {
  std::string name;
  Dtype dtype;
  Shape shape;
  std::uint64_t begin = 0, end = 0;
};

// A JSON value for an error message: short prefix only (the depth is bounded before this).
std::string preview(const json& v) {
  return detail::clip(v.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Every failure names the file (and the entry when there is one).
class Reader {
 public:
  explicit Reader(const std::filesystem::path& path) : path_(path) {}

  [[noreturn]] void fail(const std::string& entry, const std::string& what) const {
    std::string where = "read_safetensors: '" + path_.string() + "'";
    if (!entry.empty()) where += ": entry '" + detail::clip(entry) + "'";
    throw Error(where + ": " + what);
  }

  std::uint64_t unsigned_int(const json& v, const std::string& entry, const char* field) const {
    if (!v.is_number_unsigned())
      fail(entry,
           std::string("expected ") + field + " to hold non-negative integers, got " + preview(v));
    return v.get<std::uint64_t>();
  }

  Entry parse_entry(const std::string& name, const json& v, std::uint64_t data_size) const {
    if (!v.is_object())
      fail(name, "expected an object {dtype, shape, data_offsets}, got " + preview(v));
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!v.contains(field)) fail(name, std::string("expected a field '") + field + "', got none");
    Entry e{name, Dtype::F32, {}, 0, 0};
    const json& dtype = v["dtype"];
    auto parsed = dtype.is_string() ? parse_dtype(dtype.get<std::string>()) : std::nullopt;
    if (!parsed)
      fail(name,
           "expected a supported dtype (F32, F64, F16, BF16, I64, I32, I16, I8, "
           "U8, BOOL), got " +
               preview(dtype));
    e.dtype = *parsed;
    const json& shape = v["shape"];
    if (!shape.is_array()) fail(name, "expected shape to be an array, got " + preview(shape));
    // The product of the non-zero dimensions must not overflow, even when another one is 0.
    std::uint64_t product = 1;
    bool has_zero = false;
    for (const auto& d : shape) {
      const std::uint64_t n = unsigned_int(d, name, "shape");
      if (n == 0) {
        has_zero = true;
        continue;
      }
      if (product > std::numeric_limits<std::uint64_t>::max() / n)
        fail(name, "expected a shape whose size fits in 64 bits, got " + preview(shape));
      product *= n;
      e.shape.push_back(static_cast<std::size_t>(n));
    }
    if (has_zero) {  // rebuild with the zeros in place
      e.shape.clear();
      for (const auto& d : shape)
        e.shape.push_back(static_cast<std::size_t>(d.get<std::uint64_t>()));
    }
    const std::uint64_t numel = has_zero ? 0 : product;
    const json& offsets = v["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2)
      fail(name, "expected data_offsets [begin, end], got " + preview(offsets));
    e.begin = unsigned_int(offsets[0], name, "data_offsets");
    e.end = unsigned_int(offsets[1], name, "data_offsets");
    if (e.begin > e.end || e.end > data_size)
      fail(name, "expected data_offsets within the " + std::to_string(data_size) +
                     "-byte data section, got " + preview(offsets));
    const std::uint64_t size = info(e.dtype).size;
    if (numel > std::numeric_limits<std::uint64_t>::max() / size || numel * size != e.end - e.begin)
      fail(name, "expected " + std::to_string(e.end - e.begin) + " bytes = shape " +
                     preview(shape) + " x " + std::to_string(size) + " bytes (" +
                     info(e.dtype).name + "), got a shape of another size");
    return e;
  }

  // The spec: entries tile the data section exactly, no overlap, no hole, nothing after.
  void check_layout(std::vector<Entry>& entries, std::uint64_t data_size) const {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t expected = 0;
    std::string previous;
    for (const auto& e : entries) {
      if (e.begin < expected)
        fail(e.name, "expected data not overlapping entry '" + detail::clip(previous) +
                         "', got offsets starting at " + std::to_string(e.begin));
      if (e.begin > expected)
        fail(e.name, "expected data starting at byte " + std::to_string(expected) +
                         " (no gap), got " + std::to_string(e.begin));
      expected = e.end;
      previous = e.name;
    }
    if (expected != data_size)
      fail("", "expected the tensors to fill the " + std::to_string(data_size) +
                   "-byte data section, got " + std::to_string(expected) + " bytes used");
  }

 private:
  std::filesystem::path path_;
};

json parse_header(const Reader& reader, const std::string& text) {
  // Depth and duplicate keys first: nlohmann keeps the last of duplicate keys silently, and
  // its dump() (error messages) recurses. Then the plain parser, linear and iterative.
  // nlohmann stops at a NUL byte as at the end of input: what follows one would go unread.
  if (const auto nul = text.find('\0'); nul != std::string::npos)
    reader.fail("", "expected a JSON header, got a NUL byte at byte " + std::to_string(nul) +
                        " of it (JSON text has none)");
  if (const std::string error = detail::check_json(text, kMaxJsonDepth); !error.empty()) {
    const bool duplicate = error.find("unique keys") != std::string::npos;
    reader.fail("", duplicate ? error + " (duplicate entry or field names)" : error);
  }
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    reader.fail("", "expected a JSON header, got invalid JSON (" + detail::clip(e.what(), 160) +
                        ")");
  }
  if (!header.is_object())
    reader.fail("", "expected a JSON object as header, got " + std::string(header.type_name()));
  return header;
}

void read_metadata(const Reader& reader, const json& meta, TensorArchive& archive) {
  if (!meta.is_object())
    reader.fail("__metadata__", "expected an object of strings, got " + preview(meta));
  for (const auto& [k, v] : meta.items()) {
    if (!v.is_string())
      reader.fail("__metadata__", "expected string values, got " + preview(v) + " for '" +
                                      detail::clip(k) + "'");
    archive.metadata[k] = v.get<std::string>();
  }
}

// ---------------------------------------------------------------------------------- checksums

std::uint32_t crc32_of(const void* data, std::size_t n, std::uint32_t crc = 0) {
  const auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {  // zlib takes a uInt length
    const auto chunk = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    crc = static_cast<std::uint32_t>(::crc32(crc, p, chunk));
    p += chunk;
    n -= chunk;
  }
  return crc;
}

std::string crc_text(std::uint32_t crc) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", crc);
  return text;
}

// Exactly 8 lowercase hex digits, as crc_text writes them (so no flipped bit reads the same).
std::optional<std::uint32_t> parse_crc(const std::string& text) {
  if (text.size() != 8) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : text) {
    const bool digit = c >= '0' && c <= '9', hex = c >= 'a' && c <= 'f';
    if (!digit && !hex) return std::nullopt;
    v = (v << 4) | static_cast<std::uint32_t>(digit ? c - '0' : c - 'a' + 10);
  }
  return v;
}

const std::string kTensorCrcPrefix = std::string(kChecksumKey) + ".";

bool is_checksum_key(const std::string& key) { return key.rfind(kChecksumKey, 0) == 0; }

// The header's checksum covers its parsed content without the checksum itself: tensor names,
// dtypes, shapes, offsets, every metadata entry (the tensors' checksums too).
std::uint32_t header_crc(json header) {
  auto meta = header.find("__metadata__");
  if (meta != header.end() && meta->is_object()) {
    meta->erase(kChecksumKey);
    if (meta->empty()) header.erase(meta);
  }
  const std::string text = header.dump(-1, ' ', false, json::error_handler_t::replace);
  return crc32_of(text.data(), text.size());
}

// The expected checksum of each tensor, after checking the header's; empty for a file
// without checksums (written elsewhere). Removes the checksum keys from the metadata.
std::map<std::string, std::uint32_t> take_checksums(const Reader& reader, const json& header,
                                                    const std::vector<Entry>& entries,
                                                    TensorArchive& archive) {
  std::map<std::string, std::uint32_t> crcs;
  auto& meta = archive.metadata;
  const bool any = std::any_of(meta.begin(), meta.end(),
                               [](const auto& kv) { return is_checksum_key(kv.first); });
  if (!any) return crcs;
  const auto own = meta.find(kChecksumKey);
  const auto stored = own == meta.end() ? std::nullopt : parse_crc(own->second);
  if (!stored || *stored != header_crc(header))
    reader.fail("", std::string("expected the header to match its checksum '") + kChecksumKey +
                        "', got " + (stored ? "another content" : "none or a malformed one") +
                        " (the file is corrupted)");
  for (auto it = meta.begin(); it != meta.end();) {
    if (it->first.rfind(kTensorCrcPrefix, 0) == 0) {
      const auto crc = parse_crc(it->second);
      if (!crc)
        reader.fail(it->first.substr(kTensorCrcPrefix.size()),
                    "expected a checksum of 8 hex digits, got '" + detail::clip(it->second) + "'");
      crcs[it->first.substr(kTensorCrcPrefix.size())] = *crc;
    }
    it = is_checksum_key(it->first) ? meta.erase(it) : std::next(it);
  }
  for (const auto& e : entries)
    if (!crcs.count(e.name)) reader.fail(e.name, "expected a checksum, got none (corrupted file)");
  if (crcs.size() != entries.size())
    reader.fail("", "expected checksums of the file's tensors only, got one for a missing tensor");
  return crcs;
}

Tensor read_entry(const Reader& reader, std::ifstream& in, std::uint64_t data_start,
                  const Entry& e, std::optional<std::uint32_t> crc) {
  Tensor t = empty_tensor(e.shape);
  const std::size_t bytes = e.end - e.begin;
  const bool direct = e.dtype == Dtype::F32 && std::endian::native == std::endian::little;
  std::vector<unsigned char> raw(direct ? 0 : bytes);
  char* target = direct ? reinterpret_cast<char*>(t.data()) : reinterpret_cast<char*>(raw.data());
  in.seekg(static_cast<std::streamoff>(data_start + e.begin));
  in.read(target, static_cast<std::streamsize>(bytes));
  if (!in || static_cast<std::size_t>(in.gcount()) != bytes)
    reader.fail(e.name, "expected " + std::to_string(bytes) + " bytes of data, got a short read");
  if (crc && crc32_of(target, bytes) != *crc)
    reader.fail(e.name, "expected data matching its checksum " + crc_text(*crc) + ", got " +
                            crc_text(crc32_of(target, bytes)) + " (the file is corrupted)");
  if (direct) return t;
  const std::size_t size = info(e.dtype).size;
  float* out = t.data();
  for (std::size_t i = 0; i < t.size(); ++i)
    out[i] = element_to_float(e.dtype, raw.data() + i * size);
  return t;
}

// ------------------------------------------------------------------------------------ writing

[[noreturn]] void write_fail(const std::filesystem::path& path, const std::string& entry,
                             const std::string& what) {
  throw Error("write_safetensors: '" + path.string() + "': entry '" + detail::clip(entry) +
              "': " + what);
}

Dtype dtype_of(const TensorArchive& archive, const std::string& name) {
  auto it = archive.dtypes.find(name);
  return it == archive.dtypes.end() ? Dtype::F32 : it->second;
}

// One tensor's bytes as stored: the tensor's own memory for F32 on little-endian machines,
// else an encoded copy.
struct Payload {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  std::vector<unsigned char> owned;
};

Payload encode(const std::filesystem::path& path, const std::string& name, const Tensor& t,
               Dtype dtype) {
  if (dtype != Dtype::F32 && dtype != Dtype::I64)
    write_fail(path, name,
               std::string("expected dtype F32 or I64 to write, got ") + dtype_name(dtype));
  Payload out;
  const float* data = t.data();
  if (dtype == Dtype::F32 && std::endian::native == std::endian::little) {
    out.data = reinterpret_cast<const unsigned char*>(data);
    out.size = t.size() * sizeof(float);
    return out;
  }
  const std::size_t size = info(dtype).size;
  out.owned.resize(t.size() * size);
  for (std::size_t i = 0; i < t.size(); ++i) {
    const float v = data[i];
    if (dtype == Dtype::F32) {
      store_le(out.owned.data() + i * size, std::bit_cast<std::uint32_t>(v), size);
      continue;
    }
    if (!(std::nearbyint(v) == v && std::fabs(v) < 9.2e18f))
      write_fail(path, name, "expected integral values to store as I64, got " + std::to_string(v));
    store_le(out.owned.data() + i * size,
             static_cast<std::uint64_t>(static_cast<std::int64_t>(v)), size);
  }
  out.data = out.owned.data();
  out.size = out.owned.size();
  return out;
}

std::string build_header(const std::filesystem::path& path, const TensorArchive& archive,
                         const std::vector<Payload>& payloads) {
  json header = json::object();
  std::map<std::string, std::string> metadata = archive.metadata;
  std::uint64_t offset = 0;
  std::size_t k = 0;
  for (const auto& [name, t] : archive.tensors) {
    if (name.empty() || name == "__metadata__")
      write_fail(path, name, "expected a tensor name, got a reserved one");
    const Dtype dtype = dtype_of(archive, name);
    const std::uint64_t size = payloads[k].size;
    std::vector<std::uint64_t> shape(t.shape().begin(), t.shape().end());
    header[name] = {
        {"dtype", dtype_name(dtype)}, {"shape", shape}, {"data_offsets", {offset, offset + size}}};
    metadata[kTensorCrcPrefix + name] = crc_text(crc32_of(payloads[k].data, size));
    offset += size;
    ++k;
  }
  for (const auto& [name, dtype] : archive.dtypes)
    if (!archive.tensors.count(name))
      write_fail(path, name,
                 "expected a dtype only for a tensor of the archive, got one for a missing tensor");
  for (const auto& [key, value] : archive.metadata)
    if (is_checksum_key(key))
      throw Error("write_safetensors: '" + path.string() + "': expected metadata keys other than " +
                  kChecksumKey + "*, got '" + detail::clip(key) + "' (reserved for checksums)");
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text;
  try {
    header["__metadata__"][kChecksumKey] = crc_text(header_crc(header));
    text = header.dump();
  } catch (const json::exception& e) {
    throw Error("write_safetensors: '" + path.string() +
                "': expected UTF-8 names and metadata, got " + detail::clip(e.what(), 160));
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  return text;
}

}  // namespace

namespace detail {

std::string clip(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace detail

const char* dtype_name(Dtype dtype) { return info(dtype).name; }

TensorArchive read_safetensors(const std::filesystem::path& path) {
  Reader reader(path);
  std::error_code ec;
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) reader.fail("", "cannot read the file: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) reader.fail("", std::string("cannot open the file: ") + std::strerror(errno));
  if (file_size < 8)
    reader.fail("", "expected at least 8 bytes (the header length), got " +
                        std::to_string(file_size) + " (truncated file)");
  unsigned char prefix[8];
  in.read(reinterpret_cast<char*>(prefix), 8);
  if (!in) reader.fail("", "expected 8 bytes of header length, got a short read");
  const std::uint64_t header_size = load_le(prefix, 8);
  if (header_size > kMaxSafetensorsHeader)
    reader.fail("", "expected a header of at most " + std::to_string(kMaxSafetensorsHeader) +
                        " bytes, got " + std::to_string(header_size));
  if (header_size > file_size - 8)
    reader.fail("", "expected a " + std::to_string(header_size) + "-byte header within the " +
                        std::to_string(file_size) + "-byte file, got a truncated file");
  std::string text(header_size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_size));
  if (!in)
    reader.fail("", "expected " + std::to_string(header_size) + " header bytes, got a short read");
  const json header = parse_header(reader, text);
  const std::uint64_t data_start = 8 + header_size, data_size = file_size - data_start;
  TensorArchive archive;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__")
      read_metadata(reader, value, archive);
    else
      entries.push_back(reader.parse_entry(name, value, data_size));
  }
  const auto crcs = take_checksums(reader, header, entries, archive);
  reader.check_layout(entries, data_size);
  for (const auto& e : entries) {
    const auto crc = crcs.find(e.name);
    archive.tensors[e.name] = read_entry(
        reader, in, data_start, e,
        crc == crcs.end() ? std::nullopt : std::optional<std::uint32_t>(crc->second));
    archive.dtypes[e.name] = e.dtype;
  }
  return archive;
}

void write_safetensors(const std::filesystem::path& path, const TensorArchive& archive) {
  std::vector<Payload> payloads;
  for (const auto& [name, t] : archive.tensors)
    payloads.push_back(encode(path, name, t, dtype_of(archive, name)));
  const std::string header = build_header(path, archive, payloads);
  unsigned char prefix[8];
  store_le(prefix, header.size(), 8);
  detail::AtomicFile file(path, "write_safetensors");
  file.write(prefix, 8);
  file.write(header.data(), header.size());
  for (const auto& p : payloads)
    if (p.size) file.write(p.data, p.size);
  file.commit();
}

}  // namespace tg::nn
