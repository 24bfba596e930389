#pragma once
// The examples' --data option: which dataset to train on and how to prepare it.
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/data/data.hpp>

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

/// The geometric augmentation of training images: none, a horizontal flip, or a padded random
/// crop (padding 1/8 of the side) and a flip.
enum class Augment { none, flip, crop_flip };
/// The examples' --augment names, in the enum's order: "none", "flip", "crop-flip".
const std::vector<std::string>& augment_names();
/// One of augment_names() as an Augment; throws tg::Error on anything else.
Augment parse_augment(const std::string& name);

/// `augment`, then normalisation, then torchvision's RandomErasing with probability
/// `random_erasing` (0: none; after normalising, as torchvision's recipes place it, so the
/// erased patch is the mean image's value).
data::Transform train_transform(const DataChoice& data, Augment augment, double random_erasing = 0);
data::Transform test_transform(const DataChoice& data);

}  // namespace tg::examples
