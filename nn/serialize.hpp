#pragma once
/// @file
/// tg::nn::save / load: a module's state dict as a safetensors file, with PyTorch's names, so
/// that weights move between PyTorch (safetensors.torch.save_file(model.state_dict(), path))
/// and tapegrad in both directions.
#include <filesystem>
#include <map>
#include <string>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/safetensors.hpp"

namespace tg::nn {

/// The state dict as an archive (F32, counters such as num_batches_tracked as I64).
TensorArchive to_archive(const StateDict& dict);
/// Writes module.state_dict() to `path` atomically, with optional string metadata: a failed
/// write is a tg::Error and leaves an existing file as it was. A named pipe, a device or a
/// descriptor's name (/dev/stdout) is written into, not replaced (see write_safetensors).
void save(const Module& module, const std::filesystem::path& path,
          const std::map<std::string, std::string>& metadata = {});
/// Reads `path` into module.load_state_dict (strict: every key present and no other); any
/// integer or half-precision entry is converted to float. Checksums are verified when the file
/// has them, buffer values checked (see check_state_values). Errors name the file; nothing
/// changes when it throws.
void load(Module& module, const std::filesystem::path& path, bool strict = true);

/// Throws tg::Error when a value that `dict` would load into `module` makes no sense:
/// BatchNorm's running_var not finite or negative, running_mean not finite,
/// num_batches_tracked not a non-negative integer. Entries the module lacks are ignored.
void check_state_values(const Module& module, const std::map<std::string, Tensor>& dict);

}  // namespace tg::nn
