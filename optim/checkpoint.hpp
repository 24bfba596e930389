#pragma once
/// @file
/// Training checkpoints: a module's weights, its optimizer's state, its scheduler's position and
/// the epoch in ONE safetensors file, so that a resumed run continues with exactly the numbers
/// an uninterrupted one would have produced.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/optim/lr_scheduler.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tg::optim {

/// Writes, atomically: tensors "model.<name>" (module.state_dict()), "optim.state.<i>.<buffer>";
/// metadata "format" = "tapegrad.checkpoint", "epoch", "optim.<key>", "scheduler.<key>" (when a
/// scheduler is given) and "extra.<key>" for each entry of `extra`.
void save_checkpoint(const std::filesystem::path& path, const nn::Module& module,
                     const Optimizer& optimizer, const LRScheduler* scheduler, std::int64_t epoch,
                     const std::map<std::string, std::string>& extra = {});

/// Restores a save_checkpoint file into a module, optimizer and scheduler built as they were
/// when it was saved (a scheduler may be null; one given needs a checkpoint that has one) and
/// returns the epoch; `extra`, when given, receives the caller's metadata. Errors name the file;
/// nothing changes when it throws.
std::int64_t load_checkpoint(const std::filesystem::path& path, nn::Module& module,
                             Optimizer& optimizer, LRScheduler* scheduler = nullptr,
                             std::map<std::string, std::string>* extra = nullptr);

}  // namespace tg::optim
