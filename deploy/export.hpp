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

/// Exports `forward` (which calls `model`) run on `example_input` [N, ...] to `path`. The model
/// is put in eval mode for the pass and every module's mode is restored afterwards; parameters,
/// buffers and the grad mode are left as they were. Throws tg::Error naming the op and the
/// module path when an op has no ONNX form (a loss, dropout in training mode, a pooling whose
/// output size ONNX cannot express), and when ONNX's checker or shape inference rejects the model.
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
