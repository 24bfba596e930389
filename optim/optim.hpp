#pragma once
// Everything of optim: SGD, Adam, AdamW, RMSprop with parameter groups, learning-rate
// schedulers, gradient clipping, and training checkpoints.
#include "optim/adam.hpp"
#include "optim/checkpoint.hpp"
#include "optim/clip_grad.hpp"
#include "optim/lr_scheduler.hpp"
#include "optim/optimizer.hpp"
#include "optim/rmsprop.hpp"
#include "optim/sgd.hpp"
#include "optim/swa_utils.hpp"
