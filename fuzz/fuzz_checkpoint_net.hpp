#pragma once
// The model of fuzz_checkpoint's inputs, shared with make_corpus_files, which saves its seeds:
// Linear, BatchNorm (buffers, an I64 counter), Linear.
#include <tapegrad/nn/nn.hpp>

namespace tg_fuzz {

struct CheckpointNet : tg::nn::Module {
  tg::nn::Linear fc1{3, 4};
  tg::nn::BatchNorm1d bn{4};
  tg::nn::Linear fc2{4, 2};
  CheckpointNet() {
    register_module("fc1", fc1);
    register_module("bn", bn);
    register_module("fc2", fc2);
  }
  tg::Variable forward(const tg::Variable& x) { return fc2(tg::relu(bn(fc1(x)))); }
};

}  // namespace tg_fuzz
