#pragma once
// DataLoader: batches of a dataset, shuffled and augmented deterministically from a seed, with
// worker threads preparing the next batches while the model trains.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <type_traits>

#include "tapegrad/autograd/variable.hpp"
#include "tapegrad/data/dataset.hpp"
#include "tapegrad/data/transforms.hpp"

namespace tg::data {

/// One batch, under LibTorch's names: `data`, the images [N, C, H, W] (a leaf that does not
/// require grad), and `target`, their class labels [N]. images() and labels() are the same
/// members under tapegrad's earlier names, for reading and writing. A plain aggregate:
/// `Batch{images, labels}` builds one; copies and assignments copy both members.
struct Batch {
  Variable data;  ///< the images [N, C, H, W]
  Labels target;  ///< the class labels [N], one per image

  /// `data` under its earlier name: `batch.images() = x` writes it.
  Variable& images() { return data; }
  /// `data` under its earlier name.
  const Variable& images() const { return data; }
  /// `target` under its earlier name: `batch.labels() = y` writes it.
  Labels& labels() { return target; }
  /// `target` under its earlier name.
  const Labels& labels() const { return target; }
};

/// Options of DataLoader.
struct DataLoaderOptions {
  std::int64_t batch_size = 64;  ///< samples per batch (the last may be smaller unless drop_last)
  bool shuffle = false;     ///< a new permutation each epoch, drawn from (seed, epoch)
  bool drop_last = false;   ///< drop the last batch when it is smaller than batch_size
  int num_workers = 0;      ///< threads preparing batches; 0: in the calling thread
  std::uint64_t seed = 0;   ///< with the epoch and sample index, fixes shuffling and augmentation
  int prefetch_factor = 2;  ///< batches prepared ahead per worker
  /// Data-parallel sharding (DistributedSampler): each rank of world_size visits
  /// ceil(n / world_size) samples of the epoch's permutation, the list padded by repeating its
  /// first indices (truncated instead with drop_last), rank r taking entries r, r+R, r+2R...
  int world_size = 1;
  int rank = 0;             ///< this rank, in [0, world_size)
  /// false: no padding, each sample on exactly one rank, ranks may run one batch more or less
  /// than others (evaluation: count every test image once, then all_reduce the counts).
  bool pad_shards = true;

  /// LibTorch's builder: `DataLoaderOptions(64).workers(2)` sets num_workers. The options stay
  /// a plain aggregate, so designated initialisers work and `DataLoaderOptions(64)` sets
  /// batch_size (C++20's parenthesised aggregate initialisation: GCC 10, Clang 16 and later).
  DataLoaderOptions& workers(int n) {
    num_workers = n;
    return *this;
  }
};

namespace detail {
class EpochRun;
/// Test seam: when set, called with the worker's number before each worker thread starts; it
/// may throw std::system_error as std::thread does when the system refuses a thread.
extern std::function<void(int)> worker_start_hook;
}  // namespace detail

/// Iterates batches: `for (const auto& batch : loader)` runs one epoch; each loop starts the
/// next epoch (set_epoch to resume). Sample i of epoch e is transformed with the generator
/// Generator::derive(seed, e, i), so batches are identical for any num_workers. An exception
/// thrown while preparing a batch is rethrown, as it is, when the loop reaches that batch. If the
/// system refuses a worker thread, begin() joins those that started and throws tg::Error.
class DataLoader {
 public:
  /// Reads `dataset`, which must outlive the loader; `transform` is applied to every image.
  DataLoader(const Dataset& dataset, DataLoaderOptions options = {}, Transform transform = {});
  /// Shares ownership of `dataset` (e.g. a Subset made with subset()).
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {},
             Transform transform = {});
  /// Takes a temporary dataset: DataLoader loader(FashionMNIST(), {...}).
  template <class D>
  requires std::derived_from<std::remove_cvref_t<D>, Dataset> &&
      (!std::is_lvalue_reference_v<D>)DataLoader(D&& dataset, DataLoaderOptions options = {},
                                                 Transform transform = {})
      : DataLoader(std::shared_ptr<const Dataset>(
                       std::make_shared<std::remove_cvref_t<D>>(std::move(dataset))),
                   options, std::move(transform)) {}
  /// Stops and joins the workers of an epoch still running.
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// An input iterator over one epoch's batches (copies share the epoch's state).
  class Iterator {
   public:
    ///@{
    /// std::iterator_traits' members: an input iterator over Batch values.
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using reference = const Batch&;
    using pointer = const Batch*;
    ///@}

    Iterator() = default;
    /// The current batch (waits for the workers; rethrows their exception).
    const Batch& operator*() const;
    /// The current batch's members.
    const Batch* operator->() const { return &**this; }
    /// Moves to the next batch (the batch read before is released).
    Iterator& operator++();
    /// ++it, returning nothing (an input iterator's value does not outlive the step).
    void operator++(int) { ++*this; }
    /// Whether both are at the same batch index (end() is past the last batch).
    bool operator==(const Iterator& other) const { return index_ == other.index_; }

   private:
    friend class DataLoader;
    Iterator(std::shared_ptr<detail::EpochRun> run, std::size_t index)
        : run_(std::move(run)), index_(index) {}
    std::shared_ptr<detail::EpochRun> run_;
    std::size_t index_ = 0;
  };

  /// Starts epoch epoch() (its workers too), stopping one still running, and advances the counter.
  Iterator begin();
  /// Past the epoch's last batch.
  Iterator end() const { return Iterator(nullptr, size()); }
  /// Number of batches per epoch.
  std::size_t size() const;
  /// The epoch the next begin() runs (shuffling and augmentation depend on it).
  std::uint64_t epoch() const { return epoch_; }
  /// Makes the next begin() run epoch e (to resume a run).
  void set_epoch(std::uint64_t e) { epoch_ = e; }
  /// The dataset it reads.
  const Dataset& dataset() const { return *dataset_; }
  /// The options it was made with.
  const DataLoaderOptions& options() const { return options_; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  Transform transform_;
  std::uint64_t epoch_ = 0;
  std::weak_ptr<detail::EpochRun> active_;
};

}  // namespace tg::data
