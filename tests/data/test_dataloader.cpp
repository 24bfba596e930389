// DataLoader: batching, per-epoch shuffling, identical batches (augmentation included) for any
// number of workers, worker exceptions surfacing unchanged, and threads joined on early exit.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <tapegrad/data/data.hpp>

namespace T = tg::data::transforms;
using tg::data::DataLoader;

namespace {

// Sample i: a [1, 6, 6] image filled with i + 0.5 (with a gradient so flips show), label i % 7.
class CountingDataset : public tg::data::Dataset {
 public:
  explicit CountingDataset(std::size_t n, std::size_t fail_at = SIZE_MAX, int delay_us = 0)
      : n_(n), fail_at_(fail_at), delay_us_(delay_us) {}
  std::size_t size() const override { return n_; }
  tg::data::Example<> get(std::size_t i) const override {
    if (delay_us_ > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay_us_));
    if (i == fail_at_) throw std::out_of_range("corrupt sample " + std::to_string(i));
    tg::Tensor image = tg::empty_tensor({1, 6, 6});
    for (std::size_t p = 0; p < 36; ++p) image.data()[p] = float(i) + 0.5f + 0.01f * float(p);
    return {image, std::int64_t(i % 7)};
  }

 private:
  std::size_t n_, fail_at_;
  int delay_us_;
};

// The sample index a batch row came from (the image's first pixel is index + 0.5).
std::size_t index_of(const tg::data::Batch& batch, std::size_t row) {
  return std::size_t(batch.data.value()(row, 0, 0, 0) + 0.1f);
}

std::vector<std::size_t> epoch_order(DataLoader& loader) {
  std::vector<std::size_t> order;
  for (const auto& batch : loader)
    for (std::size_t r = 0; r < batch.target.size(); ++r) order.push_back(index_of(batch, r));
  return order;
}

std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task"))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("batches in order, the last one short unless drop_last") {
  const CountingDataset ds(10);
  DataLoader loader(ds, {.batch_size = 4});
  REQUIRE(loader.size() == 3);
  std::vector<std::size_t> sizes;
  for (const auto& batch : loader) {
    sizes.push_back(batch.target.size());
    CHECK(batch.data.shape() == tg::Shape{batch.target.size(), 1, 6, 6});
    CHECK_FALSE(batch.data.requires_grad());
    for (std::size_t r = 0; r < batch.target.size(); ++r)
      CHECK(batch.target(r) == std::int64_t(index_of(batch, r) % 7));
  }
  CHECK(sizes == std::vector<std::size_t>{4, 4, 2});
  CHECK(epoch_order(loader) == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  DataLoader dropping(ds, {.batch_size = 4, .drop_last = true, .num_workers = 2});
  CHECK(dropping.size() == 2);
  CHECK(epoch_order(dropping).size() == 8);
  // A temporary dataset is kept alive by the loader.
  DataLoader owning(CountingDataset(3), {.batch_size = 2});
  CHECK(epoch_order(owning) == std::vector<std::size_t>{0, 1, 2});
  DataLoader shared(std::make_shared<CountingDataset>(2), {.batch_size = 2});
  CHECK(epoch_order(shared) == std::vector<std::size_t>{0, 1});
  CHECK_THROWS_WITH_AS(DataLoader(ds, {.batch_size = 0}),
                       doctest::Contains("DataLoader: expected batch_size >= 1, got 0"), tg::Error);
}

TEST_CASE("shuffling: a permutation per epoch, reproducible from seed and epoch") {
  const CountingDataset ds(50);
  DataLoader a(ds, {.batch_size = 8, .shuffle = true, .seed = 3});
  DataLoader b(ds, {.batch_size = 8, .shuffle = true, .num_workers = 2, .seed = 3});
  const auto e0 = epoch_order(a), e1 = epoch_order(a);
  CHECK(std::set<std::size_t>(e0.begin(), e0.end()).size() == 50);
  CHECK(e0 != e1);
  CHECK(a.epoch() == 2);
  CHECK(epoch_order(b) == e0);
  b.set_epoch(1);
  CHECK(epoch_order(b) == e1);
  DataLoader other_seed(ds, {.batch_size = 8, .shuffle = true, .seed = 4});
  CHECK(epoch_order(other_seed) != e0);
}

TEST_CASE("world_size and rank: each rank its share, the same number of batches, any workers") {
  const CountingDataset ds(11);
  std::multiset<std::size_t> seen;
  for (int rank = 0; rank < 3; ++rank) {
    DataLoader loader(ds, {.batch_size = 2, .shuffle = true, .num_workers = rank, .seed = 5,
                           .world_size = 3, .rank = rank});
    CHECK(loader.size() == 2);  // ceil(11 / 3) = 4 samples, 2 batches, on every rank
    const auto order = epoch_order(loader);
    CHECK(order.size() == 4);
    seen.insert(order.begin(), order.end());
  }
  CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == 11);  // each index, + 1 pad
  CHECK(seen.size() == 12);
  DataLoader dropping(ds, {.batch_size = 3, .drop_last = true, .world_size = 3, .rank = 1});
  CHECK(epoch_order(dropping) == std::vector<std::size_t>{1, 4, 7});
  CHECK(dropping.size() == 1);
  CHECK_THROWS_WITH_AS(DataLoader(ds, {.world_size = 2, .rank = -1}),
                       doctest::Contains("DataLoader: expected rank in [0, 2)"), tg::Error);
}

TEST_CASE("the same seed gives the same batches, augmentation included, for 0, 1 and 3 workers") {
  const CountingDataset ds(37);
  const T::Compose augment(
      {T::RandomHorizontalFlip(), T::RandomCrop(6, 2), T::GaussianNoise(0.1f)});
  std::vector<std::vector<tg::Tensor>> runs;
  for (int workers : {0, 1, 3}) {
    DataLoader loader(ds, {.batch_size = 5, .shuffle = true, .num_workers = workers, .seed = 21},
                      augment);
    std::vector<tg::Tensor> images;
    for (int epoch = 0; epoch < 2; ++epoch)
      for (const auto& batch : loader) images.push_back(batch.data.value());
    runs.push_back(images);
  }
  REQUIRE(runs[0].size() == 16);
  for (std::size_t r = 1; r < runs.size(); ++r)
    for (std::size_t i = 0; i < runs[0].size(); ++i) CHECK(runs[r][i] == runs[0][i]);
  // The augmentation did something, and differs between epochs.
  DataLoader plain(ds, {.batch_size = 5, .shuffle = true, .seed = 21});
  CHECK((*plain.begin()).data.value() != runs[0][0]);
  CHECK(runs[0][0] != runs[0][8]);
}

TEST_CASE("an exception in a worker reaches the loop as that exception") {
  const CountingDataset ds(40, 13);
  for (int workers : {0, 1, 3}) {
    CAPTURE(workers);
    DataLoader loader(ds, {.batch_size = 4, .num_workers = workers});
    std::size_t seen = 0;
    auto run = [&] {
      for (const auto& batch : loader) seen += batch.target.size();
    };
    CHECK_THROWS_WITH_AS(run(), "corrupt sample 13", std::out_of_range);
    CHECK(seen == 12);  // batches 0-2 came through, batch 3 holds sample 13
  }
  // A failing transform: its tg::Error, unchanged.
  const CountingDataset good(9);
  DataLoader loader(good, {.batch_size = 3, .num_workers = 2}, T::RandomCrop(10));
  auto run = [&] {
    for (const auto& batch : loader) (void)batch;
  };
  CHECK_THROWS_WITH_AS(run(), doctest::Contains("RandomCrop: expected a crop of 10x10 to fit"),
                       tg::Error);
}

TEST_CASE("images of different shapes in one batch are an error") {
  const CountingDataset ds(4);
  auto grow = [](tg::Tensor image, tg::Generator&) {
    const std::size_t side = image(0, 0, 0) > 1 ? 4 : 6;  // samples 1, 2, 3 shrink
    return tg::data::transforms::functional::center_crop(image, side, side);
  };
  DataLoader loader(ds, {.batch_size = 4}, grow);
  CHECK_THROWS_WITH_AS(
      *loader.begin(),
      doctest::Contains(
          "DataLoader: expected every image of a batch to have shape [1, 6, 6] (add a Resize or "
          "CenterCrop), got [1, 4, 4] for sample 1"),
      tg::Error);
}

TEST_CASE("leaving an epoch early or destroying the loader joins the workers") {
  const CountingDataset slow(400, SIZE_MAX, 200);
  const std::size_t before = thread_count();
  {
    DataLoader loader(slow, {.batch_size = 4, .num_workers = 3});
    for (const auto& batch : loader) {
      CHECK(thread_count() == before + 3);
      (void)batch;
      break;  // the loop's iterator dies here: its epoch stops
    }
    CHECK(thread_count() == before);
    // Destroying the loader while an iterator still holds the epoch.
    for (int workers : {0, 2}) {
      auto it = std::make_unique<DataLoader::Iterator>();
      {
        DataLoader inner(slow, {.batch_size = 4, .num_workers = workers});
        *it = inner.begin();
        CHECK((**it).target.size() == 4);
        ++*it;
      }
      CHECK(thread_count() == before);
      CHECK_THROWS_WITH_AS(**it, doctest::Contains("the loader was destroyed"), tg::Error);
    }
    // A new epoch stops the previous one.
    auto first = loader.begin();
    (void)*first;
    auto second = loader.begin();
    CHECK(thread_count() == before + 3);
    (void)*second;
    ++first;  // the old iterator says why it cannot go on
    CHECK_THROWS_WITH_AS(*first, doctest::Contains("epoch is over: begin() started a new epoch"),
                         tg::Error);
  }
  CHECK(thread_count() == before);
}

TEST_CASE("issue 12.6: a worker thread the system refuses is a tg::Error, not std::terminate") {
  const CountingDataset ds(12);
  DataLoader loader(ds, {.batch_size = 4, .num_workers = 3});
  std::atomic<int> asked{0};
  // As std::thread throws when pthread_create fails (EAGAIN: pids or address-space limit).
  tg::data::detail::worker_start_hook = [&](int worker) {
    ++asked;
    if (worker == 2)
      throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again));
  };
  CHECK_THROWS_WITH_AS(loader.begin(),
                       doctest::Contains("DataLoader: could not start worker thread 3 of 3 ("),
                       tg::Error);
  CHECK_THROWS_WITH_AS(loader.begin(), doctest::Contains("use fewer num_workers, or 0"), tg::Error);
  tg::data::detail::worker_start_hook = nullptr;
  CHECK(asked == 6);
  // The two workers that started were joined (else ~thread would have aborted the process), and
  // the loader still works once threads can be created.
  std::size_t batches = 0;
  for (const auto& batch : loader) {
    CHECK(batch.target(0) == std::int64_t((batches * 4) % 7));
    ++batches;
  }
  CHECK(batches == 3);
}
