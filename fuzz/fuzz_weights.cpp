// ONNX weight loading on arbitrary bytes: load_weights (protobuf parsing, initializer dims and
// data checked before anything is allocated from them) into a small model, strict and not, then
// a forward pass on what loaded. The input is the whole .onnx file.
#include <cstddef>
#include <cstdint>

#include <tapegrad/autograd/error.hpp>
#include <tapegrad/deploy/weights.hpp>
#include <tapegrad/nn/nn.hpp>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = tg_fuzz::write_input("model.onnx", data, size);
  // The model of the seeds (make_corpus_files exports it): state-dict names as PyTorch's.
  auto model = tg::nn::Sequential(tg::nn::Conv2d(1, 2, 3), tg::nn::BatchNorm2d(2),
                                  tg::nn::Flatten(), tg::nn::Linear(8, 3));
  model->eval();
  for (bool strict : {true, false}) {
    try {
      tg::onnx::load_weights(*model, path, strict);
      model(tg::Variable(tg::zeros({1, 1, 4, 4}).value()));  // what loaded must run
    } catch (const tg::Error&) {
    }
  }
  return 0;
}
