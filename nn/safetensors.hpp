#pragma once
// The safetensors file format (what the PyTorch ecosystem reads and writes): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
// {string: string}}, then the raw little-endian data. tapegrad reads F32 (and I64/F64 converted
// where noted) and writes F32.
#include <filesystem>
#include <map>
#include <string>

#include "autograd/tensor.hpp"

namespace tg::nn {

/// Named tensors plus string metadata: the content of one safetensors file.
struct TensorArchive {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

/// Writes `archive` atomically: a temporary file in the same folder, flushed, then renamed, so a
/// write killed midway leaves the previous file intact.
void write_safetensors(const std::filesystem::path& path, const TensorArchive& archive);

/// Reads a safetensors file, checking everything (header size limit, offsets, overlaps, bounds,
/// dtypes, shapes against sizes); any violation throws tg::Error naming the file and the entry.
TensorArchive read_safetensors(const std::filesystem::path& path);

}  // namespace tg::nn
