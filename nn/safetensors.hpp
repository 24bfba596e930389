#pragma once
/// @file
/// The safetensors file format (what the PyTorch ecosystem reads and writes): an 8-byte
/// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
/// {string: string}}, then the raw little-endian data. tapegrad reads F32, F64, F16, BF16, I64,
/// I32, I16, I8, U8 and BOOL (converted to float32) and writes F32 and I64.
///
/// Integrity: every file tapegrad writes carries, in its metadata, a CRC-32 of each tensor's
/// bytes ("tapegrad.crc32.<name>") and one of the header's own content ("tapegrad.crc32"); the
/// reader verifies them when present (files written elsewhere, e.g. by PyTorch, have none and
/// load as before) and removes them from the metadata it returns.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "tapegrad/autograd/tensor.hpp"

namespace tg::nn {

/// Element types of safetensors files (the format's own names, see dtype_name).
enum class Dtype {
  F32,   ///< float32
  F64,   ///< float64
  F16,   ///< IEEE float16
  BF16,  ///< bfloat16
  I64,   ///< int64
  I32,   ///< int32
  I16,   ///< int16
  I8,    ///< int8
  U8,    ///< uint8
  BOOL   ///< one byte, 0 or 1
};

/// The format's name of a dtype: "F32", "I64", ...
const char* dtype_name(Dtype dtype);

/// Named tensors plus string metadata: the content of one safetensors file.
struct TensorArchive {
  std::map<std::string, Tensor> tensors;         ///< name -> values (float32 in memory)
  std::map<std::string, std::string> metadata;  ///< the header's "__metadata__" strings
  /// How each tensor is stored in the file; absent means F32. Writing supports F32 and I64
  /// (integral values only, e.g. BatchNorm's num_batches_tracked); reading records the file's.
  std::map<std::string, Dtype> dtypes;
};

/// Largest JSON header read_safetensors accepts (the reference implementation's limit).
inline constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;
/// Deepest nesting of JSON arrays and objects a header may have (a valid one has 3).
inline constexpr std::size_t kMaxJsonDepth = 64;
/// Metadata keys reserved for the checksums (see above); writing them is an error.
inline constexpr const char* kChecksumKey = "tapegrad.crc32";

/// Writes `archive` atomically (see detail::AtomicFile): a write killed midway leaves the
/// previous file intact and no temporary file; a path that is a symbolic link is written
/// through (the link stays, the file it points to is replaced). A path that is not a regular
/// file, a named pipe or a device, or that names a descriptor (/dev/stdout, /dev/fd/N), is
/// written into as a stream: it stays what it was, and a failed write there (a full device, a
/// reader gone) is a tg::Error after the bytes that went through. Adds the checksums described
/// above.
void write_safetensors(const std::filesystem::path& path, const TensorArchive& archive);

/// Reads a safetensors file, checking everything (header size limit, JSON depth and duplicate
/// keys, offsets, overlaps, bounds, dtypes, shapes against sizes, checksums when present); any
/// violation throws tg::Error naming the file and the entry. Work is linear in the file's size.
TensorArchive read_safetensors(const std::filesystem::path& path);

namespace detail {
/// `text` for an error message: as it is up to `max` bytes, else its first `max` bytes and
/// "... (N bytes)", so that no message repeats a hostile file's megabytes.
std::string clip(std::string_view text, std::size_t max = 60);
}  // namespace detail

}  // namespace tg::nn
