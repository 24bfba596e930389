#pragma once
/// @file
/// The whole of tapegrad's user API in one include, as `<torch/torch.h>` is LibTorch's:
/// tensors and autograd, `tg::nn` modules, `tg::optim` optimizers and schedulers, `tg::data`
/// datasets and loaders, the `tg::vision::models` zoo and `tg::distributed` data parallelism.
/// ONNX export (`tg::onnx`) is included where tapegrad was built with it (libonnx-dev present).
///
/// Each area also has a header of its own (`<tapegrad/nn/nn.hpp>`, `<tapegrad/optim/optim.hpp>`,
/// ...) for a translation unit that wants less.
#include "tapegrad/autograd/autograd.hpp"
#include "tapegrad/data/data.hpp"
#include "tapegrad/distributed/distributed.hpp"
#include "tapegrad/nn/nn.hpp"
#include "tapegrad/optim/optim.hpp"
#include "tapegrad/vision/models.hpp"
#ifdef TAPEGRAD_WITH_ONNX  // defined by tapegrad::deploy, which tapegrad::tapegrad links where built
#include "tapegrad/deploy/export.hpp"
#include "tapegrad/deploy/weights.hpp"
#endif

/// @namespace tg
/// tapegrad: tensors and reverse-mode autograd (Variable, the ops, NoGradGuard, gradcheck,
/// seeds, threads), LibTorch's `torch::` namespace renamed; the areas above it live in
/// tg::nn, tg::optim, tg::data, tg::distributed, tg::vision::models and tg::onnx.
