#include "examples/common/ema.hpp"

#include <string>

#include <tapegrad/nn/serialize.hpp>

namespace tg::examples {

std::filesystem::path ema_path(const std::filesystem::path& checkpoint) {
  return checkpoint.parent_path() / "ema.safetensors";
}

void save_ema(const std::filesystem::path& path, const Ema& ema, std::int64_t epoch) {
  nn::TensorArchive archive = nn::to_archive(ema.state_dict());
  archive.metadata["epoch"] = std::to_string(epoch);
  nn::write_safetensors(path, archive);
}

void load_ema(const std::filesystem::path& path, Ema& ema, std::int64_t epoch) {
  TG_CHECK(std::filesystem::exists(path), "--resume with --ema: expected the average in ", path.string(),
           ", got no such file (was the run started without --ema?)");
  const nn::TensorArchive archive = nn::read_safetensors(path);
  const auto saved = archive.metadata.find("epoch");
  TG_CHECK(saved != archive.metadata.end() && saved->second == std::to_string(epoch), "--resume with --ema: ",
           path.string(), " holds the average after epoch ", saved == archive.metadata.end() ? "?" : saved->second,
           ", the checkpoint is from epoch ", epoch, " (remove both to start again)");
  nn::StateDict dict;
  for (const auto& [name, value] : archive.tensors) dict.insert(name, value);
  try {
    ema.load_state_dict(dict);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

}  // namespace tg::examples
