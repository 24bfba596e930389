#pragma once
/// @file
/// Everything of optim: SGD, Adam, AdamW, RMSprop with parameter groups, learning-rate
/// schedulers, gradient clipping, and training checkpoints.
#include "tapegrad/optim/adam.hpp"
#include "tapegrad/optim/checkpoint.hpp"
#include "tapegrad/optim/clip_grad.hpp"
#include "tapegrad/optim/lr_scheduler.hpp"
#include "tapegrad/optim/optimizer.hpp"
#include "tapegrad/optim/rmsprop.hpp"
#include "tapegrad/optim/sgd.hpp"
#include "tapegrad/optim/swa_utils.hpp"

/// @namespace tg::optim
/// Optimizers (torch::optim): SGD, Adam, AdamW and RMSprop with parameter groups,
/// learning-rate schedulers, gradient clipping, training checkpoints and weight averaging.
