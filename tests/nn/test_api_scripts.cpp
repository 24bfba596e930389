// The two scripts tapegrad's API was designed to compile as written (the lecture notes' SimpleCNN,
// as in the README's "Writing a training script", and a residual block), trained for a few steps
// on random data with a hand-written SGD step (optim and data are tested elsewhere). The
// README's own copy is compiled by tests/docs.
#include <doctest/doctest.h>

#include <tapegrad/nn/nn.hpp>

#include "test_util.hpp"

namespace {

// ---- A seed network, line by line from its PyTorch version ----
struct SimpleCNN : tg::nn::Module {
  tg::nn::Conv2d conv1{3, 5, 5};
  tg::nn::MaxPool2d pool{2, 2};
  tg::nn::Conv2d conv2{5, 10, 5};
  tg::nn::Linear fc1{10 * 5 * 5, 32};
  tg::nn::Linear fc2{32, 10};

  SimpleCNN() {
    register_module("conv1", conv1);
    register_module("pool", pool);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }

  tg::Variable forward(tg::Variable x) {
    x = pool(tg::relu(conv1(x)));
    x = pool(tg::relu(conv2(x)));
    x = x.view({-1, 10 * 5 * 5});
    x = tg::relu(fc1(x));
    return fc2(x);
  }
};

// ---- A residual block, with its constructor ----
struct Block : tg::nn::Module {
  tg::nn::Conv2d conv1, conv2;
  tg::nn::BatchNorm2d bn1, bn2;
  tg::nn::Sequential shortcut;  // empty: identity; else 1x1 conv + BN
  Block(int in, int out, int stride);
  tg::Variable forward(const tg::Variable& x) {
    auto y = tg::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    return tg::relu(y + shortcut(x));  // the skip connection
  }
};

Block::Block(int in, int out, int stride)
    : conv1(in, out, 3, {.stride = stride, .padding = 1, .bias = false}),
      conv2(out, out, 3, {.padding = 1, .bias = false}),
      bn1(out),
      bn2(out) {
  if (stride != 1 || in != out) {
    shortcut->push_back(tg::nn::Conv2d(in, out, 1, {.stride = stride, .bias = false}));
    shortcut->push_back(tg::nn::BatchNorm2d(out));
  }
  register_module("conv1", conv1);
  register_module("bn1", bn1);
  register_module("conv2", conv2);
  register_module("bn2", bn2);
  register_module("shortcut", shortcut);
}

// Full-batch SGD by hand; returns the losses of each step.
template <class Model>
std::vector<float> train(Model& model, const tg::Variable& images, const tg::Labels& labels,
                         int steps, float lr) {
  std::vector<float> losses;
  auto params = model.parameters();
  for (int step = 0; step < steps; ++step) {
    model.zero_grad();
    auto loss = tg::cross_entropy(model.forward(images), labels);
    loss.backward();
    for (auto& p : params) p.value() -= lr * p.grad();
    losses.push_back(loss.item());
  }
  return losses;
}

tg::Labels random_labels(std::size_t n, std::uint64_t seed) {
  tg::Generator gen(seed);
  tg::Labels labels = tg::Labels::from_shape({n});
  for (auto& l : labels) l = static_cast<std::int64_t>(gen.below(10));
  return labels;
}

}  // namespace

TEST_CASE("The design's SimpleCNN: parameters, shapes, a falling loss, save and load") {
  tg::manual_seed(0);
  SimpleCNN model;
  CHECK(model.parameters().size() == 8);
  CHECK(model.num_parameters() == 3 * 5 * 25 + 5 + 5 * 10 * 25 + 10 + 250 * 32 + 32 + 32 * 10 + 10);
  auto images = tg::randn({16, 3, 32, 32});
  auto labels = random_labels(16, 1);
  CHECK(model.forward(images).shape() == tg::Shape{16, 10});
  auto losses = train(model, images, labels, 25, 0.05f);
  CHECK(losses.front() == doctest::Approx(std::log(10.0f)).epsilon(0.15));  // near chance at start
  CHECK(losses.back() < 0.8f * losses.front());
  for (const auto& [name, p] : model.named_parameters()) CHECK_MESSAGE(p.has_grad(), name);

  nn_test::TempDir dir("api_scripts");
  tg::nn::save(model, dir / "simple_cnn.safetensors");
  SimpleCNN reloaded;
  tg::nn::load(reloaded, dir / "simple_cnn.safetensors");
  CHECK(reloaded.forward(images).value() == model.forward(images).value());
}

TEST_CASE("The design's residual Block: identity and projection shortcuts, nested in Sequential") {
  tg::manual_seed(1);
  Block same(4, 4, 1);
  CHECK(same.shortcut->empty());
  CHECK(same.named_parameters().size() == 6);
  Block down(4, 8, 2);
  CHECK(down.shortcut->size() == 2);
  auto x = tg::randn({2, 4, 8, 8});
  CHECK(down.forward(x).shape() == tg::Shape{2, 8, 4, 4});

  // User modules go into a Sequential by value: a tiny ResNet.
  tg::nn::Sequential net;
  net.push_back(tg::nn::Conv2d(3, 4, 3, {.padding = 1, .bias = false}));
  net.push_back(Block(4, 4, 1));
  net.push_back(Block(4, 8, 2));
  net.push_back(tg::nn::AdaptiveAvgPool2d({1, 1}));
  net.push_back(tg::nn::Flatten());
  net.push_back(tg::nn::Linear(8, 10));
  CHECK(net->state_dict().contains("2.shortcut.0.weight"));
  CHECK(net->state_dict().contains("2.shortcut.1.running_mean"));
  CHECK(net->state_dict().contains("1.bn2.num_batches_tracked"));
  auto images = tg::randn({8, 3, 8, 8});
  auto labels = random_labels(8, 2);
  auto losses = train(*net, images, labels, 10, 0.1f);
  CHECK(losses.back() < 0.8f * losses.front());
  auto summary = tg::nn::summarize(net, {1, 3, 8, 8});
  CHECK(summary.total_parameters == net->num_parameters());
  // conv; conv bn conv bn + the empty shortcut (a leaf); conv bn conv bn + 2 in the shortcut;
  // pool flatten fc
  CHECK(summary.rows.size() == 15);
  CHECK(summary.rows[5].name == "1.shortcut");
}
