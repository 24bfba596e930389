#pragma once
// The pictures the trainer (examples/trainer) leaves in its output folder.
#include <filesystem>

#include "examples/common/data_choice.hpp"
#include "examples/common/resnet_cifar.hpp"
#include "examples/common/training.hpp"

namespace tg::examples {

/// curves.png (loss and accuracy per epoch, from metrics.csv, with the EMA weights' test
/// curves when it has their columns), confusion_matrix.png, kernels.png (conv1's learned
/// kernels), feature_maps_<stage>.png (one test image after the stem and each stage; CIFAR
/// ResNets only, a printed line says so for others) and misclassified.png (test images with
/// true and predicted class).
void draw_pictures(const std::filesystem::path& out, nn::Module& model, const DataChoice& data,
                   const Evaluation& evaluation);

}  // namespace tg::examples
