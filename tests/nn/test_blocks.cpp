// Residual blocks, a CIFAR ResNet-20 built from them, and summary().
#include <doctest/doctest.h>

#include <tapegrad/nn/nn.hpp>

namespace {

using tg::Shape;
using tg::Variable;
namespace nn = tg::nn;

// He et al.'s CIFAR ResNet-20: 3 stages of 3 BasicBlocks (16/32/64 channels), projection
// (option B: 1x1 conv + BN) shortcuts where the shape changes. 272,474 parameters.
struct ResNet20 : nn::Module {
  nn::Conv2d conv1{3, 16, 3, {.padding = 1, .bias = false}};
  nn::BatchNorm2d bn1{16};
  nn::Sequential layer1, layer2, layer3;
  nn::AdaptiveAvgPool2d avgpool{{1, 1}};
  nn::Linear fc{64, 10};

  ResNet20() {
    std::int64_t in = 16;
    struct Stage {
      nn::Sequential* layer;
      std::int64_t out, stride;
    };
    for (auto [layer, out, stride] :
         {Stage{&layer1, 16, 1}, Stage{&layer2, 32, 2}, Stage{&layer3, 64, 2}})
      for (int i = 0; i < 3; ++i) {
        layer->push_back(nn::BasicBlock(in, out, i == 0 ? stride : 1));
        in = out;
      }
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("layer1", layer1);
    register_module("layer2", layer2);
    register_module("layer3", layer3);
    register_module("avgpool", avgpool);
    register_module("fc", fc);
  }
  Variable forward(const Variable& x) {
    auto y = tg::relu(bn1(conv1(x)));
    y = layer3(layer2(layer1(y)));
    return fc(avgpool(y).flatten(1));
  }
};

bool has_name(const nn::Module& m, const std::string& name) {
  return m.state_dict().contains(name);
}

}  // namespace

TEST_CASE("BasicBlock: shapes, identity or projection shortcut, bias-free convolutions") {
  nn::BasicBlock same(8, 8);
  CHECK(same(tg::randn(Shape{2, 8, 6, 6})).shape() == Shape{2, 8, 6, 6});
  CHECK(same->downsample.empty());
  CHECK(same->named_children().size() == 5);  // no downsample registered
  CHECK(same->num_parameters() == 2 * 8 * 8 * 9 + 2 * 16);

  nn::BasicBlock down(8, 16, 2);
  CHECK(down(tg::randn(Shape{2, 8, 6, 6})).shape() == Shape{2, 16, 3, 3});
  CHECK(down->downsample.size() == 2);
  CHECK_FALSE(down->conv1->bias.defined());
  CHECK(has_name(*down, "downsample.0.weight"));
  CHECK(has_name(*down, "downsample.1.running_var"));
  CHECK(nn::BasicBlock(8, 16, 1)->downsample.size() == 2);  // channels change
}

TEST_CASE("Bottleneck: torchvision v1.5 layout, expansion 4") {
  nn::Bottleneck first(64, 64);
  CHECK(first->num_parameters() == 75008);  // torchvision resnet50.layer1[0]
  CHECK(first(tg::randn(Shape{1, 64, 4, 4})).shape() == Shape{1, 256, 4, 4});
  nn::Bottleneck same(256, 64);
  CHECK(same->downsample.empty());
  nn::Bottleneck down(256, 128, 2);
  CHECK(down->conv1->options.stride.h == 1);
  CHECK(down->conv2->options.stride.h == 2);  // v1.5: the stride is on the 3x3
  CHECK(down->downsample->at<nn::Conv2dImpl>(0).options.stride.h == 2);
  CHECK(down(tg::randn(Shape{1, 256, 8, 8})).shape() == Shape{1, 512, 4, 4});
  std::vector<std::string> names;
  for (const auto& [name, m] : down->named_children()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu",
                                          "downsample"});
}

TEST_CASE("ResNet-20 from BasicBlocks has 272,474 parameters and PyTorch's names") {
  tg::manual_seed(0);
  ResNet20 net;
  CHECK(net.num_parameters() == 272474);
  auto dict = net.state_dict();
  CHECK(dict.contains("layer1.0.conv1.weight"));
  CHECK(dict.contains("layer2.0.downsample.0.weight"));
  CHECK(dict.contains("layer3.2.bn2.num_batches_tracked"));
  CHECK_FALSE(dict.contains("layer1.0.downsample.0.weight"));
  auto x = tg::randn(Shape{2, 3, 16, 16});
  auto y = net.forward(x);
  CHECK(y.shape() == Shape{2, 10});
  tg::sum(y).backward();
  for (const auto& [name, p] : net.named_parameters()) CHECK_MESSAGE(p.has_grad(), name);
}

TEST_CASE("summary: one row per leaf call, totals from the model") {
  tg::manual_seed(0);
  ResNet20 net;
  auto before = net.state_dict();
  auto s = nn::summarize(net, {1, 3, 32, 32});
  CHECK(s.total_parameters == 272474);
  CHECK(s.trainable_parameters == 272474);
  std::size_t row_params = 0;
  for (const auto& r : s.rows) row_params += r.parameters;
  CHECK(row_params == 272474);
  CHECK(s.rows.front().name == "conv1");
  CHECK(s.rows.front().output_shape == Shape{1, 16, 32, 32});
  CHECK(s.rows.front().multiply_adds == 16 * 32 * 32 * 27);
  CHECK(s.rows.back().name == "fc");
  CHECK(s.rows.back().output_shape == Shape{1, 10});
  // The summary's forward runs in eval mode: BatchNorm statistics are untouched.
  CHECK(net.state_dict().at("bn1.num_batches_tracked")() == before.at("bn1.num_batches_tracked")());
  CHECK(net.is_training());
  CHECK(net.layer1->is_training());
  const std::string text = s.str();
  CHECK(text.find("layer2.0.downsample.0 (Conv2d)") != std::string::npos);
  CHECK(text.find("Total params: 272,474") != std::string::npos);
  CHECK(text.find("Trainable params: 272,474") != std::string::npos);
  CHECK(nn::summary(net, {1, 3, 32, 32}) == text);
}

TEST_CASE("summary of a Sequential, repeated layers, frozen parameters") {
  nn::Sequential seq(nn::Conv2d(1, 2, 3), nn::ReLU(), nn::Flatten(), nn::Linear(8, 3));
  seq[0].parameters()[0].set_requires_grad(false);
  auto s = nn::summarize(seq, {1, 1, 4, 4});
  REQUIRE(s.rows.size() == 4);
  CHECK(s.rows[0].name == "0");
  CHECK(s.rows[0].type == "Conv2d");
  CHECK(s.rows[0].multiply_adds == 2 * 2 * 2 * 9);
  CHECK(s.rows[3].multiply_adds == 3 * 8);
  CHECK(s.total_multiply_adds == 72 + 24);
  CHECK(s.total_parameters == 20 + 27);
  CHECK(s.trainable_parameters == 2 + 27);
  CHECK(s.str().find("Non-trainable params: 18") != std::string::npos);
}
