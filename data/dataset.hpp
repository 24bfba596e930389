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

/// One sample, under LibTorch's names (torch::data::Example): `data` and `target`. Example<>
/// is what tapegrad's datasets give: an image [C, H, W] (values in [0, 1] unless transformed)
/// and its class. image() and label() are the same members under their earlier names. A plain
/// aggregate: `return {image, label};` builds one.
template <class Data = Tensor, class Target = std::int64_t>
struct Example {
  using DataType = Data;      ///< the type of `data`
  using TargetType = Target;  ///< the type of `target`

  Data data{};      ///< the input; for Example<>, an image [C, H, W]
  Target target{};  ///< what to predict; for Example<>, the class

  /// `data` under its earlier name: `example.image() = x` writes it.
  Data& image() { return data; }
  /// `data` under its earlier name.
  const Data& image() const { return data; }
  /// `target` under its earlier name.
  Target& label() { return target; }
  /// `target` under its earlier name.
  const Target& label() const { return target; }
};

/// Base of every dataset. get() must be safe to call from several threads at once (the
/// DataLoader's workers do): keep it const and free of shared mutable state. (LibTorch's form,
/// a class template taking the dataset as its argument, is tg::data::datasets::Dataset.)
class Dataset {
 public:
  /// The sample type, so that `Example get(std::size_t) const override;` in a subclass's body
  /// names Example<> (outside a dataset's class body, write Example<>).
  using Example = ::tg::data::Example<>;

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
  /// images [N, ...] with labels [N] (else tg::Error).
  TensorDataset(Tensor images, Labels labels);
  std::size_t size() const override { return count_; }
  Example get(std::size_t index) const override;
  /// All the images, [N, ...].
  const Tensor& images() const { return images_; }
  /// All the labels, [N].
  const Labels& labels() const { return labels_; }

 private:
  Tensor images_;
  Labels labels_;
  std::size_t count_ = 0;
};

}  // namespace tg::data
