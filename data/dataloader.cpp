#include "tapegrad/data/dataloader.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <numeric>
#include <system_error>
#include <thread>
#include <vector>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/random.hpp"
#include "tapegrad/autograd/threads.hpp"
#include "tapegrad/data/sampler.hpp"

namespace tg::data {

namespace detail {

std::function<void(int)> worker_start_hook;

SamplerOptions sampler_options(const DataLoaderOptions& o) {
  return {.shuffle = o.shuffle, .drop_last = o.drop_last, .seed = o.seed,
          .world_size = o.world_size, .rank = o.rank, .pad = o.pad_shards};
}

// One epoch: its sample order, and (with workers) the threads filling a ring of `capacity`
// slots, batch b going to slot b % capacity, so that batches come out in order. A worker only
// claims batch b when b < next_deliver_ + capacity: that bounds the memory held ahead.
class EpochRun {
 public:
  EpochRun(std::shared_ptr<const Dataset> dataset, const DataLoaderOptions& options,
           Transform transform, std::uint64_t epoch, std::size_t num_batches);
  ~EpochRun() { stop(); }
  EpochRun(const EpochRun&) = delete;
  EpochRun& operator=(const EpochRun&) = delete;

  /// Batch `index` (>= every index asked before), waiting for it if needed.
  const Batch& batch(std::size_t index);
  /// Asks the workers to finish and joins them (idempotent); `why` is what later use reports.
  void stop(const char* why = "the loader was destroyed");

 private:
  struct Slot {
    bool ready = false;
    Batch batch;
    std::exception_ptr error;
  };

  Batch make_batch(std::size_t b) const;
  Batch take(std::size_t b);
  void worker_loop();

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  Transform transform_;
  std::uint64_t epoch_;
  std::size_t num_batches_;
  std::vector<std::size_t> order_;

  std::size_t current_index_ = 0;
  bool has_current_ = false;
  bool failed_ = false;
  Batch current_;

  std::mutex mutex_;
  std::condition_variable produced_, consumed_;
  std::vector<Slot> slots_;
  std::size_t next_claim_ = 0, next_deliver_ = 0;
  bool stopping_ = false;
  const char* stop_reason_ = "";
  std::vector<std::thread> workers_;
};

EpochRun::EpochRun(std::shared_ptr<const Dataset> dataset, const DataLoaderOptions& options,
                   Transform transform, std::uint64_t epoch, std::size_t num_batches)
    : dataset_(std::move(dataset)),
      options_(options),
      transform_(std::move(transform)),
      epoch_(epoch),
      num_batches_(num_batches),
      order_(epoch_indices(dataset_->size(), sampler_options(options_), epoch_)) {
  if (options_.num_workers == 0 || num_batches_ == 0) return;
  slots_.resize(std::size_t(options_.num_workers) * std::size_t(options_.prefetch_factor));
  workers_.reserve(std::size_t(options_.num_workers));
  try {
    for (int w = 0; w < options_.num_workers; ++w) {
      if (worker_start_hook) worker_start_hook(w);
      workers_.emplace_back([this] { worker_loop(); });
    }
  } catch (const std::system_error& e) {
    // The destructor does not run for a constructor that throws, and destroying a joinable
    // std::thread calls std::terminate: join the workers that did start first.
    const std::size_t started = workers_.size();
    stop();
    throw Error(::tg::detail::concat(
        "DataLoader: could not start worker thread ", started + 1, " of ", options_.num_workers,
        " (", e.what(), "); the system refused a thread (a per-user process limit, ulimit -u, a "
        "container's pids limit, or an address-space limit): use fewer num_workers, or 0 to "
        "prepare batches in the calling thread"));
  }
}

Batch EpochRun::make_batch(std::size_t b) const {
  const std::size_t bs = std::size_t(options_.batch_size);
  const std::size_t first = b * bs, count = std::min(bs, order_.size() - first);
  Tensor images;
  Labels labels = Labels::from_shape({count});
  Shape sample_shape;
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t index = order_[first + k];
    Example<> example = dataset_->get(index);
    if (transform_) {
      Generator gen = Generator::derive(options_.seed, epoch_, index);
      example.data = transform_(std::move(example.data), gen);
    }
    if (k == 0) {
      sample_shape = example.data.shape();
      Shape shape{count};
      shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
      images = empty_tensor(shape);
    }
    TG_CHECK(example.data.shape() == sample_shape,
             "DataLoader: expected every image of a batch "
             "to have shape ",
             shape_str(sample_shape), " (add a Resize or CenterCrop), got ",
             shape_str(example.data.shape()), " for sample ", index);
    std::copy(example.data.data(), example.data.data() + example.data.size(),
              images.data() + k * example.data.size());
    labels(k) = example.target;
  }
  return {Variable(std::move(images)), std::move(labels)};
}

void EpochRun::worker_loop() {
  // Data threads: whatever a transform calls must not start an OpenMP team of its own.
  set_thread_limit(1);
  const std::size_t capacity = slots_.size();
  std::unique_lock lock(mutex_);
  for (;;) {
    consumed_.wait(lock, [&] {
      return stopping_ || next_claim_ >= num_batches_ || next_claim_ < next_deliver_ + capacity;
    });
    if (stopping_ || next_claim_ >= num_batches_) return;
    const std::size_t b = next_claim_++;
    lock.unlock();
    Slot slot;
    try {
      slot.batch = make_batch(b);
    } catch (...) {
      slot.error = std::current_exception();
    }
    lock.lock();
    slot.ready = true;
    slots_[b % capacity] = std::move(slot);
    produced_.notify_all();
  }
}

Batch EpochRun::take(std::size_t b) {
  Slot slot;
  {
    std::unique_lock lock(mutex_);
    // Once stopped (the loader is gone), the dataset may be gone too: touch nothing.
    TG_CHECK(!stopping_, "DataLoader: this iterator's epoch is over: ", stop_reason_);
    if (workers_.empty()) {
      lock.unlock();
      return make_batch(b);
    }
    Slot& ready = slots_[b % slots_.size()];
    produced_.wait(lock, [&] { return ready.ready || stopping_; });
    TG_CHECK(!stopping_, "DataLoader: this iterator's epoch is over: ", stop_reason_);
    slot = std::move(ready);
    ready = Slot{};
    next_deliver_ = b + 1;
  }
  consumed_.notify_all();
  if (slot.error) {
    stop();
    std::rethrow_exception(slot.error);
  }
  return std::move(slot.batch);
}

const Batch& EpochRun::batch(std::size_t index) {
  TG_CHECK(index < num_batches_, "DataLoader: expected a batch index below ", num_batches_,
           ", got ", index, " (dereferenced the end iterator)");
  if (has_current_ && index == current_index_) return current_;
  TG_CHECK(!failed_, "DataLoader: this epoch stopped at an error; start a new one with begin()");
  TG_CHECK(!has_current_ || index > current_index_,
           "DataLoader: expected batches in order, got batch ", index, " after ", current_index_);
  try {
    // Batches skipped without being looked at are still taken, in order.
    for (std::size_t b = has_current_ ? current_index_ + 1 : 0; b <= index; ++b) {
      has_current_ = false;
      current_ = take(b);
      current_index_ = b;
      has_current_ = true;
    }
  } catch (...) {
    failed_ = true;
    throw;
  }
  return current_;
}

void EpochRun::stop(const char* why) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) stop_reason_ = why;
    stopping_ = true;
  }
  consumed_.notify_all();
  produced_.notify_all();
  for (auto& worker : workers_)
    if (worker.joinable()) worker.join();
}

}  // namespace detail

DataLoader::DataLoader(const Dataset& dataset, DataLoaderOptions options, Transform transform)
    : DataLoader(std::shared_ptr<const Dataset>(std::shared_ptr<const Dataset>(), &dataset),
                 options, std::move(transform)) {}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options,
                       Transform transform)
    : dataset_(std::move(dataset)), options_(options), transform_(std::move(transform)) {
  TG_CHECK(dataset_ != nullptr, "DataLoader: expected a dataset, got a null pointer");
  TG_CHECK(options_.batch_size >= 1, "DataLoader: expected batch_size >= 1, got ",
           options_.batch_size);
  TG_CHECK(options_.num_workers >= 0 && options_.num_workers <= 256,
           "DataLoader: expected num_workers in [0, 256], got ", options_.num_workers);
  TG_CHECK(options_.prefetch_factor >= 1 && options_.prefetch_factor <= 64,
           "DataLoader: expected prefetch_factor in [1, 64], got ", options_.prefetch_factor);
  check_sampler_options(detail::sampler_options(options_));
}

DataLoader::~DataLoader() {
  if (auto run = active_.lock()) run->stop();
}

DataLoader::Iterator DataLoader::begin() {
  if (auto previous = active_.lock())
    previous->stop("begin() started a new epoch (iterate with the iterator it returned)");
  auto run = std::make_shared<detail::EpochRun>(dataset_, options_, transform_, epoch_++, size());
  active_ = run;
  return Iterator(std::move(run), 0);
}

std::size_t DataLoader::size() const {
  const std::size_t n = samples_per_rank(dataset_->size(), detail::sampler_options(options_)),
                    bs = std::size_t(options_.batch_size);
  return options_.drop_last ? n / bs : (n + bs - 1) / bs;
}

const Batch& DataLoader::Iterator::operator*() const {
  TG_CHECK(run_ != nullptr, "DataLoader: cannot dereference the end iterator");
  return run_->batch(index_);
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  ++index_;
  return *this;
}

}  // namespace tg::data
