#pragma once
/// @file
/// tg::onnx::load_weights: weights coming the other way, from an ONNX file's initializers into
/// a matching model (one exported by tapegrad, or by PyTorch's exporter, which uses the same
/// state-dict names).
#include <filesystem>

#include "tapegrad/nn/module.hpp"

namespace tg::onnx {

/// Copies every initializer named like an entry of model.state_dict() into the model. Strict:
/// each parameter and buffer (num_batches_tracked aside, which ONNX files do not carry) must
/// be there, as float, with the model's shape; the error lists what is missing. Initializers
/// of other names (constants) are ignored. Initializers stored as ONNX external data (a model
/// over 2 GiB, see export_model) are read from their file in the model's folder. Dims that are
/// negative or whose element count overflows, and data that does not match the dims, are a
/// tg::Error before anything is allocated. Nothing changes when it throws.
void load_weights(nn::Module& model, const std::filesystem::path& path, bool strict = true);

}  // namespace tg::onnx
