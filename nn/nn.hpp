#pragma once
/// @file
/// Everything of nn (and of autograd): Module, layers, residual blocks, losses, init, summary,
/// save/load.
#include "tapegrad/autograd/autograd.hpp"
#include "tapegrad/nn/activation.hpp"
#include "tapegrad/nn/blocks.hpp"
#include "tapegrad/nn/conv.hpp"
#include "tapegrad/nn/conv_transpose.hpp"
#include "tapegrad/nn/dropout.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/linear.hpp"
#include "tapegrad/nn/loss.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/normalization.hpp"
#include "tapegrad/nn/pooling.hpp"
#include "tapegrad/nn/safetensors.hpp"
#include "tapegrad/nn/sequential.hpp"
#include "tapegrad/nn/serialize.hpp"
#include "tapegrad/nn/size2.hpp"
#include "tapegrad/nn/summary.hpp"
#include "tapegrad/nn/upsample.hpp"

/// @namespace tg::nn
/// Modules (torch::nn): Module and the holders layers are used through, the layers, residual
/// blocks, loss modules, initialisation (tg::nn::init), summaries and safetensors save/load.
