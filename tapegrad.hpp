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

/// @mainpage tapegrad API reference
/// tapegrad is a C++20 CNN training framework written so that a LibTorch program ports by
/// renaming `torch::` to `tg::`. `#include <tapegrad/tapegrad.hpp>` brings all of it; this
/// reference is generated from the public headers' comments (`bash scripts/docs.sh`).
///
/// | Area | Namespace | Umbrella header |
/// |---|---|---|
/// | tensors, Variable, ops, autograd | tg | `<tapegrad/autograd/autograd.hpp>` |
/// | modules, layers, losses, init, save/load | tg::nn | `<tapegrad/nn/nn.hpp>` |
/// | optimizers, schedulers, checkpoints | tg::optim | `<tapegrad/optim/optim.hpp>` |
/// | datasets, transforms, DataLoader | tg::data | `<tapegrad/data/data.hpp>` |
/// | data-parallel training over MPI | tg::distributed | `<tapegrad/distributed/distributed.hpp>` |
/// | model zoo | tg::vision::models | `<tapegrad/vision/models.hpp>` |
/// | ONNX export (where built) | tg::onnx | `<tapegrad/deploy/export.hpp>` |
///
/// Start from tg::Variable, tg::nn::Module and tg::nn::ModuleHolder, tg::optim::Optimizer and
/// tg::data::DataLoader. The guides (getting started, porting from LibTorch, autograd, distributed
/// training, reliability, performance) are the Markdown pages in the repository's docs/ folder.
