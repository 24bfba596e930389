#include "examples/common/data_choice.hpp"

#include <algorithm>

#include <tapegrad/autograd/error.hpp>

namespace tg::examples {

namespace {

std::pair<std::string, std::string> split_spec(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos) return {spec, ""};
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

DataChoice idx_data(const std::string& kind, const std::string& dir) {
  DataChoice d;
  d.name = kind;
  using data::Split;
  if (kind == "mnist") {
    TG_CHECK(!dir.empty(), "--data: expected mnist:DIR (the folder with the IDX files), got 'mnist'");
    d.train = std::make_shared<data::MNIST>(dir, Split::Train);
    d.test = std::make_shared<data::MNIST>(dir, Split::Test);
    d.mean = {0.1307f}, d.stddev = {0.3081f};
  } else if (dir.empty()) {
    d.train = std::make_shared<data::FashionMNIST>(Split::Train);
    d.test = std::make_shared<data::FashionMNIST>(Split::Test);
  } else {
    d.train = std::make_shared<data::FashionMNIST>(dir, Split::Train);
    d.test = std::make_shared<data::FashionMNIST>(dir, Split::Test);
  }
  if (d.mean.empty()) d.mean = {0.2860f}, d.stddev = {0.3530f};
  return d;
}

}  // namespace

DataChoice choose_data(const std::string& spec) {
  const auto [kind, dir] = split_spec(spec);
  DataChoice d;
  if (kind == "fashion-mnist" || kind == "mnist") {
    d = idx_data(kind, dir);
  } else if (kind == "cifar10") {
    TG_CHECK(!dir.empty(), "--data: expected cifar10:DIR (the cifar-10-batches-bin folder)");
    d.name = kind;
    d.train = std::make_shared<data::CIFAR10>(dir, data::Split::Train);
    d.test = std::make_shared<data::CIFAR10>(dir, data::Split::Test);
    d.channels = 3, d.image_size = 32;
    d.mean = {0.4914f, 0.4822f, 0.4465f}, d.stddev = {0.2470f, 0.2435f, 0.2616f};
  } else if (kind == "folder") {
    TG_CHECK(!dir.empty(), "--data: expected folder:DIR with DIR/train and DIR/test inside");
    d.name = "folder";
    auto train = std::make_shared<data::ImageFolder>(std::string(dir) + "/train");
    d.train = train;
    d.test = std::make_shared<data::ImageFolder>(std::string(dir) + "/test");
    d.channels = 3;
    d.image_size = int(train->get(0).data.shape()[1]);
    d.mean = {0.5f, 0.5f, 0.5f}, d.stddev = {0.25f, 0.25f, 0.25f};
  } else {
    TG_CHECK(false, "--data: expected fashion-mnist, mnist:DIR, cifar10:DIR or folder:DIR, got '",
             spec, "'");
  }
  d.class_names = d.train->classes();
  d.classes = int(d.class_names.size());
  TG_CHECK(d.classes >= 2, "--data: expected at least 2 classes in ", spec, ", got ", d.classes);
  return d;
}

const std::vector<std::string>& augment_names() {
  static const std::vector<std::string> names{"none", "flip", "crop-flip"};
  return names;
}

Augment parse_augment(const std::string& name) {
  const auto& names = augment_names();
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) {
    std::string expected;
    for (const std::string& n : names) expected += (expected.empty() ? "" : ", ") + n;
    throw Error("--augment: expected one of " + expected + ", got \"" + name + "\"");
  }
  return static_cast<Augment>(found - names.begin());
}

data::Transform train_transform(const DataChoice& data, Augment augment, double random_erasing) {
  namespace T = data::transforms;
  std::vector<data::Transform> steps;
  if (augment == Augment::crop_flip) steps.push_back(T::RandomCrop(data.image_size, data.image_size / 8));
  if (augment != Augment::none) steps.push_back(T::RandomHorizontalFlip(0.5f));
  steps.push_back(T::Normalize(data.mean, data.stddev));
  TG_CHECK(random_erasing >= 0 && random_erasing <= 1,
           "--random-erasing: expected a probability in [0, 1] (0: off), got ", random_erasing);
  if (random_erasing > 0) steps.push_back(T::RandomErasing(float(random_erasing)));
  return T::Compose(std::move(steps));
}

data::Transform test_transform(const DataChoice& data) {
  return data::transforms::Normalize(data.mean, data.stddev);
}

}  // namespace tg::examples
