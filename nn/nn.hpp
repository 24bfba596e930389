#pragma once
// Everything of nn (and of autograd): Module, layers, residual blocks, losses, init, summary,
// save/load.
#include "autograd/autograd.hpp"
#include "nn/activation.hpp"
#include "nn/blocks.hpp"
#include "nn/conv.hpp"
#include "nn/init.hpp"
#include "nn/linear.hpp"
#include "nn/loss.hpp"
#include "nn/module.hpp"
#include "nn/normalization.hpp"
#include "nn/pooling.hpp"
#include "nn/safetensors.hpp"
#include "nn/sequential.hpp"
#include "nn/serialize.hpp"
#include "nn/size2.hpp"
#include "nn/summary.hpp"
