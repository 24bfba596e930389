#pragma once
// The safetensors file format (what the PyTorch ecosystem reads and writes): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
// {string: string}}, then the raw little-endian data. tapegrad reads F32, F64, F16, BF16, I64,
// I32, I16, I8, U8 and BOOL (converted to float32) and writes F32 and I64.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "autograd/tensor.hpp"

namespace tg::nn {

/// Element types of safetensors files (the format's own names, see dtype_name).
enum class Dtype { F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL };

/// The format's name of a dtype: "F32", "I64", ...
const char* dtype_name(Dtype dtype);

/// Named tensors plus string metadata: the content of one safetensors file.
struct TensorArchive {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
  /// How each tensor is stored in the file; absent means F32. Writing supports F32 and I64
  /// (integral values only, e.g. BatchNorm's num_batches_tracked); reading records the file's.
  std::map<std::string, Dtype> dtypes;
};

/// Largest JSON header read_safetensors accepts (the reference implementation's limit).
inline constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;

/// Writes `archive` atomically: a temporary file in the same folder, flushed, then renamed, so a
/// write killed midway leaves the previous file intact.
void write_safetensors(const std::filesystem::path& path, const TensorArchive& archive);

/// Reads a safetensors file, checking everything (header size limit, offsets, overlaps, bounds,
/// dtypes, shapes against sizes); any violation throws tg::Error naming the file and the entry.
TensorArchive read_safetensors(const std::filesystem::path& path);

}  // namespace tg::nn
