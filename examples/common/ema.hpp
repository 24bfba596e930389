#pragma once
// The trainer's --ema DECAY: an exponential moving average of the weights, folded in
// after every optimizer step, BatchNorm's running statistics averaged too (use_buffers, as
// torchvision's EMA recipe does, so the average needs no update_bn pass), and kept next to the
// training checkpoint so that --resume continues it exactly.
#include <cstdint>
#include <filesystem>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/optim/swa_utils.hpp>

namespace tg::examples {

/// The average over any module (the model's forward is called through with_averaged).
using Ema = optim::swa_utils::AveragedModel<nn::Module>;

/// The EMA file beside a checkpoint: "ema.safetensors" in the same folder.
std::filesystem::path ema_path(const std::filesystem::path& checkpoint);

/// Writes ema.state_dict() (PyTorch's AveragedModel names: module.<name>, n_averaged) to
/// `path` atomically, with the epoch in the metadata.
void save_ema(const std::filesystem::path& path, const Ema& ema, std::int64_t epoch);

/// Restores save_ema's file into `ema`; throws tg::Error, changing nothing, when it is missing
/// or from another epoch than the checkpoint being resumed (a run started without --ema, or
/// stopped between the two writes).
void load_ema(const std::filesystem::path& path, Ema& ema, std::int64_t epoch);

}  // namespace tg::examples
