#include "tapegrad/optim/checkpoint.hpp"

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/random.hpp"
#include "tapegrad/nn/safetensors.hpp"
#include "tapegrad/nn/serialize.hpp"

namespace tg::optim {
namespace {

constexpr const char* kFormat = "tapegrad.checkpoint";

bool strip(const std::string& key, const std::string& prefix, std::string& rest) {
  if (key.rfind(prefix, 0) != 0) return false;
  rest = key.substr(prefix.size());
  return true;
}

// The parts of a checkpoint file, prefixes removed.
struct Parts {
  std::map<std::string, Tensor> model;
  nn::TensorArchive optim, scheduler;
  std::map<std::string, std::string> extra;
};

Parts split(const nn::TensorArchive& archive, const std::string& where) {
  Parts parts;
  std::string rest;
  for (const auto& [key, tensor] : archive.tensors) {
    if (strip(key, "model.", rest)) parts.model[rest] = tensor;
    else if (strip(key, "optim.", rest)) parts.optim.tensors[rest] = tensor;
    else TG_CHECK(false, where, ": expected tensors named model.* or optim.*, got '",
                  nn::detail::clip(key), "'");
  }
  for (const auto& [key, text] : archive.metadata) {
    if (strip(key, "optim.", rest)) parts.optim.metadata[rest] = text;
    else if (strip(key, "scheduler.", rest)) parts.scheduler.metadata[rest] = text;
    else if (strip(key, "extra.", rest)) parts.extra[rest] = text;
  }
  return parts;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const nn::Module& module,
                     const Optimizer& optimizer, const LRScheduler* scheduler, std::int64_t epoch,
                     const std::map<std::string, std::string>& extra) {
  TG_CHECK(epoch >= 0 && epoch <= detail::kMaxCount, "save_checkpoint: expected an epoch in [0, "
           "2^53], got ", epoch);
  nn::TensorArchive out;
  const nn::TensorArchive model = nn::to_archive(module.state_dict());
  for (const auto& [name, tensor] : model.tensors) out.tensors["model." + name] = tensor;
  for (const auto& [name, dtype] : model.dtypes) out.dtypes["model." + name] = dtype;
  const nn::TensorArchive optim = optimizer.state_dict();
  for (const auto& [key, tensor] : optim.tensors) out.tensors["optim." + key] = tensor;
  for (const auto& [key, text] : optim.metadata) out.metadata["optim." + key] = text;
  if (scheduler)
    for (const auto& [key, text] : scheduler->state_dict().metadata)
      out.metadata["scheduler." + key] = text;
  for (const auto& [key, text] : extra) out.metadata["extra." + key] = text;
  out.metadata["format"] = kFormat;
  out.metadata["epoch"] = std::to_string(epoch);
  // Dropout and anything else drawing from the default generator continue the same stream.
  out.metadata["rng"] = default_generator().state();
  nn::write_safetensors(path, out);
}

std::int64_t load_checkpoint(const std::filesystem::path& path, nn::Module& module,
                             Optimizer& optimizer, LRScheduler* scheduler,
                             std::map<std::string, std::string>* extra) {
  const std::string where = "load_checkpoint(" + path.string() + ")";
  const nn::TensorArchive archive = nn::read_safetensors(path);
  const auto format = archive.metadata.find("format");
  TG_CHECK(format != archive.metadata.end() && format->second == kFormat, where,
           ": expected a checkpoint (metadata format = ", kFormat, "), got another safetensors file");
  std::int64_t epoch = 0;
  try {
    epoch = detail::parse_count(detail::require(archive.metadata, "epoch", where), "epoch", 0);
  } catch (const tg::Error& e) {
    throw tg::Error(where + ": " + e.what());
  }
  Parts parts = split(archive, where);
  TG_CHECK(!scheduler || !parts.scheduler.metadata.empty(), where,
           ": expected the state of a ", scheduler ? scheduler->name() : "", ", got a checkpoint saved without a scheduler");

  // The generator's state is parsed before anything changes, so a bad one changes nothing.
  Generator generator = default_generator();
  if (const auto rng = archive.metadata.find("rng"); rng != archive.metadata.end()) {
    try {
      generator.set_state(rng->second);
    } catch (const tg::Error& e) {
      throw tg::Error(where + ": " + e.what());
    }
  }
  // Each load below checks before it changes anything; the later ones failing roll back the
  // earlier ones from copies.
  const nn::StateDict module_backup = module.state_dict();
  const nn::TensorArchive optim_backup = optimizer.state_dict();
  const nn::TensorArchive scheduler_backup = scheduler ? scheduler->state_dict() : nn::TensorArchive{};
  try {
    nn::check_state_values(module, parts.model);
    module.load_state_dict(parts.model, true);
    try {
      optimizer.load_state_dict(parts.optim);
      if (scheduler) scheduler->load_state_dict(parts.scheduler);
    } catch (...) {
      module.load_state_dict(module_backup, true);
      optimizer.load_state_dict(optim_backup);
      if (scheduler) scheduler->load_state_dict(scheduler_backup);
      throw;
    }
  } catch (const tg::Error& e) {
    throw tg::Error(where + ": " + e.what());
  }
  default_generator() = generator;
  if (extra) *extra = std::move(parts.extra);
  return epoch;
}

}  // namespace tg::optim
