#pragma once
/// @file
/// The model zoo (library tapegrad_vision, namespace tg::vision::models): torchvision's
/// architectures with torchvision 0.14's state-dict names and shapes, so weights move between
/// PyTorch and tapegrad with tg::nn::save / tg::nn::load, plus LeNet-5.
/// @code
///   auto net = tg::vision::models::resnet18({.num_classes = 10, .in_channels = 1});
///   auto g = tg::vision::models::googlenet({.num_classes = 10, .aux_logits = true});
/// @endcode
#include "tapegrad/vision/googlenet.hpp"
#include "tapegrad/vision/lenet.hpp"
#include "tapegrad/vision/resnet.hpp"
#include "tapegrad/vision/vgg.hpp"

/// @namespace tg::vision
/// Computer vision beyond tensors; today the model zoo, tg::vision::models.
/// @namespace tg::vision::models
/// The model zoo (torchvision.models): ResNet, VGG, AlexNet, GoogLeNet with torchvision's
/// state-dict names, and LeNet-5.
