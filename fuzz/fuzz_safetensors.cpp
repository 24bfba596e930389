// safetensors on arbitrary bytes: read_safetensors (every dtype, the checksums), then nn::load
// into a small model, strict and not. The input is the whole file.
#include <cstddef>
#include <cstdint>

#include <tapegrad/autograd/error.hpp>
#include "fuzz_util.hpp"
#include <tapegrad/nn/nn.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = tg_fuzz::write_input("model.safetensors", data, size);
  try {
    const auto archive = tg::nn::read_safetensors(path);
    for (const auto& [name, t] : archive.tensors)
      if (!archive.dtypes.count(name)) __builtin_trap();  // every tensor records its dtype
  } catch (const tg::Error&) {
  }
  // The model of tests/nn/fixtures/reference_state_dict.safetensors (PyTorch's names).
  auto model = tg::nn::Sequential(tg::nn::Conv2d(1, 2, 3), tg::nn::BatchNorm2d(2),
                                  tg::nn::Flatten(), tg::nn::Linear(8, 3));
  for (bool strict : {true, false}) {
    try {
      tg::nn::load(model, path, strict);
      model(tg::Variable(tg::zeros({1, 1, 4, 4}).value()));  // what loaded must run
    } catch (const tg::Error&) {
    }
  }
  return 0;
}
