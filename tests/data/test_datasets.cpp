// LibTorch's data forms (issue 35): batch.data / batch.target beside batch.images() /
// batch.labels(), Example<> with its old names, a user dataset in LibTorch's CRTP form,
// dataset.map(Normalize<>).map(Stack<>), make_data_loader with either sampler and
// DataLoaderOptions(n).workers(k), and datasets::MNIST: each against the present loader's
// batches (the same images and labels in the same order).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include <tapegrad/data/data.hpp>
#include "data_test_util.hpp"

using namespace data_test;
namespace data = tg::data;

namespace {

// 23 images of 5x4 in the IDX layout (labels (3 i) % 10): batches of 4 leave a last one of 3.
std::filesystem::path idx_folder() {
  static const std::filesystem::path dir = [] {
    const auto d = temp_dir("datasets_idx");
    write_bytes(d / "train-images-idx3-ubyte", idx_images(23, 5, 4));
    write_bytes(d / "train-labels-idx1-ubyte", idx_labels(23));
    write_gz(d / "t10k-images-idx3-ubyte.gz", idx_images(9, 5, 4));
    write_gz(d / "t10k-labels-idx1-ubyte.gz", idx_labels(9));
    return d;
  }();
  return dir;
}

// Every batch of `loader` as (images, labels), read through the new names.
std::vector<data::Batch> all_batches(data::DataLoader& loader) {
  std::vector<data::Batch> out;
  for (auto& batch : loader) out.push_back(batch);
  return out;
}

void check_same(const std::vector<data::Batch>& a, const std::vector<data::Batch>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("batch ", i);
    CHECK(a[i].data.value() == b[i].data.value());
    CHECK(a[i].target == b[i].target);
  }
}

// LibTorch's custom-dataset form: images [1, 2, 2] whose pixels are the index, class index % 3.
class CustomDataset : public data::datasets::Dataset<CustomDataset> {
  using Example = data::Example<>;
  std::size_t count_;

 public:
  explicit CustomDataset(std::size_t count) : count_(count) {}
  Example get(size_t index) override { return {tg::filled({1, 2, 2}, float(index)), std::int64_t(index % 3)}; }
  std::optional<size_t> size() const override { return count_; }
};

// Targets as LibTorch gives them (a tensor of one element), data as a Variable.
class TensorTargets : public data::datasets::Dataset<TensorTargets, data::Example<tg::Variable, tg::Tensor>> {
 public:
  explicit TensorTargets(std::size_t elements) : elements_(elements) {}
  data::Example<tg::Variable, tg::Tensor> get(size_t index) override {
    return {tg::Variable(tg::filled({1, 1, 1}, float(index))), tg::filled({elements_}, float(index % 2))};
  }
  std::optional<size_t> size() const override { return 4; }

 private:
  std::size_t elements_;
};

}  // namespace

TEST_CASE("Batch: data and target beside images() and labels(), one storage, copyable and assignable") {
  data::Batch batch{tg::Variable(tg::filled({2, 1, 1, 1}, 1.0f)), tg::Labels{3, 4}};
  CHECK(&batch.images() == &batch.data);
  CHECK(&batch.labels() == &batch.target);
  batch.images() = tg::Variable(tg::filled({2, 1, 1, 1}, 5.0f));  // writes through the old name
  CHECK(batch.data.value()(1, 0, 0, 0) == 5.0f);
  batch.target = tg::Labels{7, 8};  // read back through the old name
  CHECK(batch.labels()(0) == 7);
  batch.labels()(1) = 9;
  CHECK(batch.target(1) == 9);
  const data::Batch copy = batch;
  data::Batch assigned;
  assigned = copy;
  CHECK(assigned.target == tg::Labels{7, 9});
  CHECK(assigned.images().value()(0, 0, 0, 0) == 5.0f);
  CHECK(&assigned.labels() == &assigned.target);  // the accessors follow the copy
  const data::Batch& read_only = assigned;
  CHECK(read_only.labels()(0) == 7);
  CHECK(read_only.images().value()(1, 0, 0, 0) == 5.0f);

  data::Example<> e{tg::filled({1, 1, 1}, 2.0f), 6};
  CHECK(e.label() == 6);
  e.label() = 4;
  CHECK(e.target == 4);
  CHECK(e.image()(0, 0, 0) == 2.0f);
}

TEST_CASE("Normalize<> normalises an example's data and keeps its target; Normalize still is a Transform") {
  const data::Example<> e{tg::filled({1, 2, 2}, 1.0f), 3};
  const auto out = data::transforms::Normalize<>(0.5, 0.25).apply(e);
  CHECK(out.data(0, 1, 1) == 2.0f);
  CHECK(out.target == 3);
  tg::Generator gen(0);
  const data::Transform t = data::transforms::Normalize({0.5f}, {0.25f});
  CHECK(t(tg::filled({1, 1, 1}, 1.0f), gen)(0, 0, 0) == 2.0f);
  CHECK_THROWS_WITH_AS(data::transforms::Normalize<>(0.5, 0.0),
                       doctest::Contains("Normalize: expected non-zero standard deviations, got 0"), tg::Error);
}

TEST_CASE("datasets::MNIST mapped with Normalize<> and Stack<> gives the present loader's batches in order") {
  // mnist.cpp's data lines, renamed.
  auto train_dataset = tg::data::datasets::MNIST(idx_folder().string())
                           .map(tg::data::transforms::Normalize<>(0.1307, 0.3081))
                           .map(tg::data::transforms::Stack<>());
  const size_t train_dataset_size = train_dataset.size().value();
  CHECK(train_dataset_size == 23);
  auto train_loader =
      tg::data::make_data_loader<tg::data::samplers::SequentialSampler>(std::move(train_dataset), 4);
  auto test_dataset = tg::data::datasets::MNIST(idx_folder().string(), tg::data::datasets::MNIST::Mode::kTest)
                          .map(tg::data::transforms::Normalize<>(0.1307, 0.3081))
                          .map(tg::data::transforms::Stack<>());
  CHECK(test_dataset.size().value() == 9);
  CHECK_FALSE(test_dataset.dataset().dataset().is_train());
  auto test_loader = tg::data::make_data_loader(std::move(test_dataset), 1000);

  data::DataLoader present(data::MNIST(idx_folder(), data::Split::Train), {.batch_size = 4},
                           data::transforms::Normalize({0.1307f}, {0.3081f}));
  const auto expected = all_batches(present);
  REQUIRE(expected.size() == 6);
  CHECK(expected.back().target.size() == 3);
  check_same(all_batches(*train_loader), expected);
  for (auto& batch : *train_loader) {  // as mnist.cpp reads them
    CHECK(batch.data.shape()[0] == batch.target.size());
    CHECK(batch.data.shape()[1] == 1);
  }

  // The default sampler is LibTorch's RandomSampler: the shuffled order of the present loader.
  data::DataLoader shuffled(data::MNIST(idx_folder(), data::Split::Test),
                            {.batch_size = 1000, .shuffle = true}, data::transforms::Normalize({0.1307f}, {0.3081f}));
  check_same(all_batches(*test_loader), all_batches(shuffled));
  std::vector<std::int64_t> seen;
  for (const auto& batch : *test_loader)
    for (std::size_t i = 0; i < batch.target.size(); ++i) seen.push_back(batch.target(i));
  std::vector<std::int64_t> sorted = seen, in_order;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < 9; ++i) in_order.push_back(std::int64_t((3 * i) % 10));
  std::sort(in_order.begin(), in_order.end());
  CHECK(sorted == in_order);  // each image once
}

TEST_CASE("A user dataset in LibTorch's CRTP form, with DataLoaderOptions(n).workers(k), either sampler") {
  // custom-dataset.cpp's data lines, renamed.
  auto train_set = CustomDataset(10).map(tg::data::transforms::Stack<>());
  auto train_size = train_set.size().value();
  CHECK(train_size == 10);
  auto train_loader = tg::data::make_data_loader<tg::data::samplers::SequentialSampler>(
      std::move(train_set), tg::data::DataLoaderOptions(3).workers(2));
  CHECK(train_loader->options().num_workers == 2);
  CHECK(train_loader->options().batch_size == 3);
  CHECK(train_loader->size() == 4);

  tg::Tensor images = tg::empty_tensor({10, 1, 2, 2});
  tg::Labels labels = tg::Labels::from_shape({10});
  for (std::size_t i = 0; i < 10; ++i) {
    for (std::size_t p = 0; p < 4; ++p) images.data()[i * 4 + p] = float(i);
    labels(i) = std::int64_t(i % 3);
  }
  const data::TensorDataset tensors(images, labels);
  data::DataLoader sequential(tensors, {.batch_size = 3});
  check_same(all_batches(*train_loader), all_batches(sequential));
  std::size_t index = 0;
  for (auto& batch : *train_loader)
    for (std::size_t i = 0; i < batch.target.size(); ++i, ++index) {
      CHECK(batch.data.value()(i, 0, 1, 1) == float(index));
      CHECK(batch.labels()(i) == std::int64_t(index % 3));
    }
  CHECK(index == 10);

  CustomDataset kept(10);
  auto mapped = kept.map(tg::data::transforms::Stack<>());  // an lvalue is copied
  auto random_loader = tg::data::make_data_loader<tg::data::samplers::RandomSampler>(
      std::move(mapped), tg::data::DataLoaderOptions(3).workers(2));
  data::DataLoader random(tensors, {.batch_size = 3, .shuffle = true, .num_workers = 2});
  check_same(all_batches(*random_loader), all_batches(random));
  CHECK(kept.size().value() == 10);
}

TEST_CASE("make_data_loader takes a Variable's data and a one-element tensor's target, and refuses a wider one") {
  auto loader = data::make_data_loader<data::samplers::SequentialSampler>(
      TensorTargets(1).map(data::transforms::Stack<data::Example<tg::Variable, tg::Tensor>>()), 4);
  const auto batches = all_batches(*loader);
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].target == tg::Labels{0, 1, 0, 1});
  CHECK(batches[0].data.value()(3, 0, 0, 0) == 3.0f);
  auto wide = data::make_data_loader(TensorTargets(2).map(data::transforms::Stack<>()), 4);
  CHECK_THROWS_WITH_AS(all_batches(*wide), doctest::Contains("expected each example's target to be one class"),
                       tg::Error);
}
