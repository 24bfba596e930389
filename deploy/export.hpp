#pragma once
/// @file
/// tg::onnx::export_model: runs a model's forward pass once on an example input, in eval mode and
/// without recording gradients, with a tracer listening (autograd/trace.hpp), and writes the ops
/// it saw as an ONNX model that ONNX Runtime, OpenCV's DNN module or TensorRT can run.
/// Parameters and BatchNorm running statistics become initializers under their state-dict
/// names ("layer1.0.conv1.weight"); the file is checked by ONNX's own checker and shape
/// inference before it is written, and written atomically (whole or not at all).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "tapegrad/autograd/variable.hpp"
#include "tapegrad/nn/module.hpp"

/// ONNX export of a model (torch.onnx) and ONNX weights loaded into one.
namespace tg::onnx {

/// export_model's options: `{.opset = 17, .dynamic_batch = true}`.
struct ExportOptions {
  std::int64_t opset = 13;            ///< ONNX opset version, 13 to 17
  bool dynamic_batch = false;         ///< dimension 0 of input and output named "batch"
  std::string input_name = "input";   ///< the graph input's name
  std::string output_name = "logits"; ///< the graph output's name
};

/// The model's forward pass: one input, one output.
using Forward = std::function<Variable(const Variable&)>;

/// Exports `forward` (which calls `model`) run on `example_input` [N, ...] to `path`. The pass
/// runs in eval mode on the calling thread only (nn::EvalOnThisThread): no module's flag,
/// parameter, buffer or the grad mode changes, so another thread may train or export the same
/// model meanwhile (its forward passes keep their mode; the parameters are read as they are
/// at that moment, so pause training for a consistent snapshot).
///
/// The forward pass runs twice: on the example and on other values (and, with dynamic_batch,
/// one more sample). Both must give the same graph; a value that reaches the output without
/// passing through a traced op (detach(), a Variable made from x.value()) or a constant taken
/// from the batch size (a sum or mean over dimension 0) would differ, and is a tg::Error
/// naming the op that reads it, instead of a graph that silently holds the example.
///
/// Throws tg::Error naming the op and the module path when an op has no ONNX form (a loss,
/// dropout in training mode, a pooling whose output size ONNX cannot express), when ONNX's
/// checker or shape inference rejects the model; in every such case `path` is not touched. The
/// file is written atomically (see nn::save); a pipe or a device such as /dev/stdout is written
/// into.
///
/// A model over protobuf's 2 GiB limit on one message is written in ONNX's external-data form,
/// as onnx.save_model(..., save_as_external_data=True, all_tensors_to_one_file=True) does: each
/// initializer of 1 KiB or more goes to "<file name>.data" beside `path` (written completely
/// before the .onnx is replaced), the .onnx names its offset and length; ONNX Runtime, Python's
/// onnx.load and load_weights read it (OpenCV 4.6's DNN module does not read external data). Exporting such a model to a pipe or a device is a
/// tg::Error (there is no folder for the second file).
void export_model(nn::Module& model, const Forward& forward, const Tensor& example_input,
                  const std::filesystem::path& path, const ExportOptions& options = {});

/// The same for a module or layer holder whose forward takes one Variable (ResNetCifar, a
/// Sequential, nn::Conv2d...).
template <class M>
void export_model(M& model, const Tensor& example_input, const std::filesystem::path& path,
                  const ExportOptions& options = {}) {
  export_model(nn::detail::as_module(model), [&model](const Variable& x) { return model.forward(x); },
               example_input, path, options);
}

}  // namespace tg::onnx
