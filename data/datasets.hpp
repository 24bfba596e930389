#pragma once
/// @file
/// LibTorch's dataset pipeline on top of tapegrad's DataLoader, so that LibTorch's data lines
/// port by renaming `torch::` to `tg::`:
///
///     auto train = tg::data::datasets::MNIST(root)
///                      .map(tg::data::transforms::Normalize<>(0.1307, 0.3081))
///                      .map(tg::data::transforms::Stack<>());
///     auto loader = tg::data::make_data_loader<tg::data::samplers::SequentialSampler>(
///         std::move(train), tg::data::DataLoaderOptions(64).workers(2));
///     for (auto& batch : *loader) { ... batch.data ... batch.target ... }
///
/// A user dataset takes LibTorch's form: `class D : public tg::data::datasets::Dataset<D>` with
/// `tg::data::Example<> get(size_t index) override` and
/// `std::optional<size_t> size() const override`.
///
/// Where it differs: the loader always stacks, so a dataset reaches make_data_loader mapped with
/// transforms::Stack<>() last; the batches are tapegrad's Batch (`data` a Variable [N, C, H, W],
/// `target` Labels [N]), each example's target being one class (an integer, or a tensor of one
/// element); shuffling (RandomSampler) is drawn from DataLoaderOptions::seed and the epoch, not
/// from the global generator.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/variable.hpp"
#include "tapegrad/data/dataloader.hpp"
#include "tapegrad/data/dataset.hpp"
#include "tapegrad/data/mnist.hpp"

namespace tg::data {

namespace transforms {

/// LibTorch's Stack<>: collates a dataset's examples into batches, stacking `data` and
/// `target` along a new first dimension. tapegrad's loader always stacks, so this marks a
/// dataset as ready for make_data_loader and leaves each example as it is.
template <class ExampleType = Example<>>
struct Stack {
  /// The example unchanged (the stacking happens in the loader).
  template <class E>
  E apply(E example) const {
    return example;
  }
};

}  // namespace transforms

namespace datasets {

template <class Source, class AppliedTransform>
class MapDataset;

/// LibTorch's dataset base (torch::data::datasets::Dataset<Self, SingleExample>): a user
/// dataset derives from Dataset<Self>, overrides get and size, and is mapped with
/// transforms (map) and batched by make_data_loader. With workers, get is called from several
/// threads at once, as in LibTorch: keep it free of unguarded shared mutable state.
template <class Self, class SingleExample = Example<>>
class Dataset {
 public:
  using ExampleType = SingleExample;  ///< what get returns

  virtual ~Dataset() = default;
  /// Example `index` (< size()).
  virtual ExampleType get(std::size_t index) = 0;
  /// Number of examples (LibTorch's optional; make_data_loader needs a value).
  virtual std::optional<std::size_t> size() const = 0;

  /// This dataset (copied) with `transform` applied to each example: transform.apply(example).
  template <class Transform>
  MapDataset<Self, Transform> map(Transform transform) & {
    return MapDataset<Self, Transform>(static_cast<Self&>(*this), std::move(transform));
  }
  /// This dataset (moved) with `transform` applied to each example: transform.apply(example).
  template <class Transform>
  MapDataset<Self, Transform> map(Transform transform) && {
    return MapDataset<Self, Transform>(std::move(static_cast<Self&>(*this)), std::move(transform));
  }
};

/// LibTorch's MapDataset: `source`'s examples with `transform.apply` applied to each (made by
/// Dataset::map). Mapped with transforms::Stack<>() it is what make_data_loader takes.
template <class Source, class AppliedTransform>
class MapDataset {
 public:
  using SourceType = Source;                                                ///< the mapped dataset
  using TransformType = AppliedTransform;                                   ///< the transform
  using ExampleType = decltype(std::declval<const AppliedTransform&>().apply(
      std::declval<Source&>().get(std::size_t{})));                         ///< what get returns

  /// `source` with `transform` applied to each example.
  MapDataset(Source source, AppliedTransform transform)
      : source_(std::move(source)), transform_(std::move(transform)) {}

  /// transform.apply(source.get(index)).
  ExampleType get(std::size_t index) { return transform_.apply(source_.get(index)); }
  /// The source's size.
  std::optional<std::size_t> size() const { return source_.size(); }
  /// The source dataset.
  const Source& dataset() const { return source_; }
  /// The transform.
  const AppliedTransform& transform() const { return transform_; }

  /// This dataset (copied) mapped again.
  template <class Transform>
  MapDataset<MapDataset, Transform> map(Transform transform) & {
    return MapDataset<MapDataset, Transform>(*this, std::move(transform));
  }
  /// This dataset (moved) mapped again.
  template <class Transform>
  MapDataset<MapDataset, Transform> map(Transform transform) && {
    return MapDataset<MapDataset, Transform>(std::move(*this), std::move(transform));
  }

 private:
  Source source_;
  AppliedTransform transform_;
};

/// LibTorch's MNIST dataset (torch::data::datasets::MNIST): the IDX files in `root` (plain or
/// gzipped; Fashion-MNIST's have the same format), each example an image [1, 28, 28] with
/// values in [0, 1] and its class. Reads the files once, in the constructor (tg::data::MNIST).
class MNIST : public Dataset<MNIST> {
 public:
  /// Which files: train-* or t10k-*.
  enum class Mode { kTrain, kTest };

  /// The split `mode` of the dataset in `root` (tg::Error naming the files when missing).
  explicit MNIST(const std::filesystem::path& root, Mode mode = Mode::kTrain)
      : mode_(mode),
        data_(std::make_shared<const tg::data::MNIST>(root, mode == Mode::kTrain ? Split::Train : Split::Test)) {}

  /// Example `index`: image [1, 28, 28], class in [0, 10).
  Example<> get(std::size_t index) override { return data_->get(index); }
  /// Number of images (60,000 or 10,000).
  std::optional<std::size_t> size() const override { return data_->size(); }
  /// Whether these are the training images.
  bool is_train() const noexcept { return mode_ == Mode::kTrain; }

 private:
  Mode mode_;
  std::shared_ptr<const tg::data::MNIST> data_;  // shared: copies (map &) do not read again
};

}  // namespace datasets

namespace samplers {

/// LibTorch's SequentialSampler: every epoch visits the examples in order.
struct SequentialSampler {
  static constexpr bool shuffle = false;  ///< DataLoaderOptions::shuffle
};

/// LibTorch's RandomSampler: every epoch visits the examples in a new random order (drawn
/// from DataLoaderOptions::seed and the epoch).
struct RandomSampler {
  static constexpr bool shuffle = true;  ///< DataLoaderOptions::shuffle
};

}  // namespace samplers

namespace detail {

/// Whether D is a dataset mapped with transforms::Stack last (what make_data_loader takes).
template <class D>
struct is_stacked : std::false_type {};
/// A MapDataset whose last transform is Stack.
template <class Source, class E>
struct is_stacked<datasets::MapDataset<Source, transforms::Stack<E>>> : std::true_type {};

/// An example's data as the loader's image: a Tensor as it is, a Variable's value.
template <class Data>
Tensor example_data(Data data) {
  if constexpr (std::is_same_v<std::remove_cvref_t<Data>, Variable>)
    return data.value();
  else
    return Tensor(std::move(data));
}

/// An example's target as the loader's class: an integer as it is, or the one element of a
/// tensor (Tensor, Labels or Variable).
template <class Target>
std::int64_t example_target(const Target& target) {
  if constexpr (std::is_integral_v<Target>) {
    return std::int64_t(target);
  } else if constexpr (std::is_same_v<Target, Variable>) {
    return example_target(target.value());
  } else {
    TG_CHECK(target.size() == 1, "make_data_loader: expected each example's target to be one class (an integer, "
             "or a tensor of one element), got a tensor of ", target.size(), " elements");
    return std::int64_t(*target.data());
  }
}

/// A LibTorch-form dataset as tapegrad's Dataset, which the DataLoader reads. get is const in
/// tapegrad's and not in LibTorch's: the wrapped dataset is mutable, and called as LibTorch's
/// workers call it (from several threads at once when there are workers).
template <class D>
class LibTorchDataset : public tg::data::Dataset {
 public:
  /// Takes `dataset`; its size must be known.
  explicit LibTorchDataset(D dataset) : dataset_(std::move(dataset)) {
    const std::optional<std::size_t> n = dataset_.size();
    TG_CHECK(n.has_value(), "make_data_loader: expected a dataset whose size() has a value, got none");
    size_ = *n;
  }
  /// Number of examples.
  std::size_t size() const override { return size_; }
  /// Example `index` of the wrapped dataset, as an image and a class.
  Example get(std::size_t index) const override {
    TG_CHECK(index < size_, "make_data_loader: expected an index below the dataset's size ", size_, ", got ", index);
    auto example = dataset_.get(index);
    return {example_data(std::move(example.data)), example_target(example.target)};
  }

 private:
  mutable D dataset_;
  std::size_t size_ = 0;
};

}  // namespace detail

/// LibTorch's make_data_loader: a DataLoader over `dataset` (mapped with transforms::Stack<>()
/// last), visiting it as `Sampler` says (RandomSampler, LibTorch's default, or
/// SequentialSampler), with `options` (`DataLoaderOptions(batch_size).workers(n)`). Iterate
/// with `for (auto& batch : *loader)`: batch.data [N, C, H, W], batch.target [N].
template <class Sampler = samplers::RandomSampler, class D>
std::unique_ptr<DataLoader> make_data_loader(D dataset, DataLoaderOptions options) {
  static_assert(detail::is_stacked<D>::value,
                "make_data_loader: map the dataset with tg::data::transforms::Stack<>() last (tapegrad's "
                "loader always stacks its examples into batches)");
  options.shuffle = Sampler::shuffle;
  return std::make_unique<DataLoader>(
      std::shared_ptr<const tg::data::Dataset>(std::make_shared<detail::LibTorchDataset<D>>(std::move(dataset))),
      options);
}

/// make_data_loader with batches of `batch_size` and the other options at their defaults.
template <class Sampler = samplers::RandomSampler, class D>
std::unique_ptr<DataLoader> make_data_loader(D dataset, std::size_t batch_size) {
  DataLoaderOptions options;
  options.batch_size = std::int64_t(batch_size);
  return make_data_loader<Sampler>(std::move(dataset), options);
}

}  // namespace tg::data
