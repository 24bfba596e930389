#pragma once
/// @file
/// tapegrad's data library: datasets, augmentation, the DataLoader, and image files in and out.
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/data/batch_transforms.hpp"
#include "tapegrad/data/cifar.hpp"
#include "tapegrad/data/dataloader.hpp"
#include "tapegrad/data/datasets.hpp"
#include "tapegrad/data/dataset.hpp"
#include "tapegrad/data/image_folder.hpp"
#include "tapegrad/data/image_io.hpp"
#include "tapegrad/data/mnist.hpp"
#include "tapegrad/data/sampler.hpp"
#include "tapegrad/data/subset.hpp"
#include "tapegrad/data/transforms.hpp"

/// @namespace tg::data
/// Data (torch::data and torchvision's datasets and transforms): datasets, samplers,
/// augmentation, the DataLoader and image files in and out.
