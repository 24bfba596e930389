#include "nn/serialize.hpp"

#include "autograd/error.hpp"

namespace tg::nn {

TensorArchive to_archive(const StateDict& dict) {
  TensorArchive archive;
  for (const auto& e : dict) {
    archive.tensors[e.name] = e.value;
    if (e.dtype != Dtype::F32) archive.dtypes[e.name] = e.dtype;
  }
  return archive;
}

void save(const Module& module, const std::filesystem::path& path,
          const std::map<std::string, std::string>& metadata) {
  TensorArchive archive = to_archive(module.state_dict());
  archive.metadata = metadata;
  write_safetensors(path, archive);
}

void load(Module& module, const std::filesystem::path& path, bool strict) {
  TensorArchive archive = read_safetensors(path);
  try {
    module.load_state_dict(archive.tensors, strict);
  } catch (const Error& e) {
    throw Error("load: '" + path.string() + "': " + e.what());
  }
}

}  // namespace tg::nn
