#pragma once
// tapegrad's data library: datasets, augmentation, the DataLoader, and image files in and out.
#include "autograd/error.hpp"
#include "data/batch_transforms.hpp"
#include "data/cifar.hpp"
#include "data/dataloader.hpp"
#include "data/dataset.hpp"
#include "data/image_folder.hpp"
#include "data/image_io.hpp"
#include "data/mnist.hpp"
#include "data/subset.hpp"
#include "data/transforms.hpp"
