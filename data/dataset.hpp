#pragma once
// Datasets: indexable collections of (image, label) examples, read by the DataLoader.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/autograd/tensor.hpp"

namespace tg::data {

/// Which part of a dataset to read.
enum class Split { Train, Test };

/// One sample: an image [C, H, W] (values in [0, 1] unless transformed) and its class.
struct Example {
  Tensor image;
  std::int64_t label = 0;
};

/// Base of every dataset. get() must be safe to call from several threads at once (the
/// DataLoader's workers do): keep it const and free of shared mutable state.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of samples.
  virtual std::size_t size() const = 0;
  /// Sample `index` (< size(), else tg::Error).
  virtual Example get(std::size_t index) const = 0;
  /// Class names, index = label (empty when the dataset has none).
  virtual std::vector<std::string> classes() const { return {}; }
};

/// Tensors already in memory: images [N, ...] and labels [N]; get(i) copies sample i.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor images, Labels labels);
  std::size_t size() const override { return count_; }
  Example get(std::size_t index) const override;
  const Tensor& images() const { return images_; }
  const Labels& labels() const { return labels_; }

 private:
  Tensor images_;
  Labels labels_;
  std::size_t count_ = 0;
};

}  // namespace tg::data
