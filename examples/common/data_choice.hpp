#pragma once
// The examples' --data option: which dataset to train on and how to prepare it.
#include <memory>
#include <string>
#include <vector>

#include "data/data.hpp"

namespace tg::examples {

/// A train/test pair with what a model and its augmentation need to know about it.
struct DataChoice {
  std::string name;
  std::shared_ptr<const data::Dataset> train, test;
  int channels = 1, classes = 10, image_size = 28;
  std::vector<float> mean, stddev;  ///< per-channel normalisation
  std::vector<std::string> class_names;
};

/// "fashion-mnist" (Debian's copy, the default), "fashion-mnist:DIR", "mnist:DIR",
/// "cifar10:DIR" or "folder:DIR" (an ImageFolder with DIR/train and DIR/test, RGB).
DataChoice choose_data(const std::string& spec);

/// Normalisation, plus a padded random crop and a horizontal flip when `augment`, then
/// torchvision's RandomErasing with probability `random_erasing` (0: none; after normalising,
/// as torchvision's recipes place it, so the erased patch is the mean image's value).
data::Transform train_transform(const DataChoice& data, bool augment, double random_erasing = 0);
data::Transform test_transform(const DataChoice& data);

}  // namespace tg::examples
