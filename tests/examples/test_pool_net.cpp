// The PoolNet of examples/common/pool_net.hpp (airbench's network): its layers and parameter
// names as the same torch.nn.Sequential layers would have them, the maps' sizes through the three
// groups, every parameter reached by the gradient, and the message for an image too small.
#include <tapegrad/autograd/autograd.hpp>
#include "examples/common/pool_net.hpp"
#include "examples/example_util.hpp"

namespace E = tg::examples;
using tg::Variable;

TEST_CASE("PoolNet: parameters as torch.nn would count and name them, logits for 28x28 and 32x32 images") {
  tg::manual_seed(0);
  E::PoolNet gray(1, 1, 10);
  // stem 1 -> 8 (2x2, bias): 40; groups 8 -> 64, 64 -> 128, 128 -> 256: two 3x3 convs and two BNs
  // each, 41,728 + 221,696 + 885,760; fc 256 -> 10 without bias: 2,560.
  CHECK(gray.num_parameters() == 1151784);
  std::vector<std::string> names;
  for (const auto& [name, p] : gray.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"stem.weight", "stem.bias", "group1.0.weight", "group1.2.weight",
                                          "group1.2.bias", "group1.4.weight", "group1.5.weight", "group1.5.bias",
                                          "group2.0.weight", "group2.2.weight", "group2.2.bias", "group2.4.weight",
                                          "group2.5.weight", "group2.5.bias", "group3.0.weight", "group3.2.weight",
                                          "group3.2.bias", "group3.4.weight", "group3.5.weight", "group3.5.bias",
                                          "fc.weight"});
  CHECK(gray.forward(Variable(tg::randn({2, 1, 28, 28}).value())).shape() == tg::Shape{2, 10});
  E::PoolNet color(1, 3, 100);  // stem 3 -> 24
  CHECK(color.stem->weight.shape() == tg::Shape{24, 3, 2, 2});
  CHECK(color.fc->weight.shape() == tg::Shape{100, 256});
  CHECK(E::PoolNet(2, 1, 10).fc->weight.shape() == tg::Shape{10, 512});  // width 2: 128, 256, 512
  CHECK(color.forward(Variable(tg::randn({1, 3, 32, 32}).value())).shape() == tg::Shape{1, 100});
}

TEST_CASE("PoolNet: the loss reaches every parameter; the logits are the classifier's over 9") {
  tg::manual_seed(1);
  E::PoolNet net(1, 1, 10);
  const Variable x(tg::randn({4, 1, 28, 28}).value());
  const Variable logits = net.forward(x);
  tg::sum(logits).backward();
  for (const auto& [name, p] : net.named_parameters()) {
    INFO(name);
    REQUIRE(p.has_grad());
    float largest = 0;
    for (float g : p.grad()) largest = std::max(largest, std::abs(g));
    CHECK(largest > 0);
  }
  // The features before the classifier: the last group's maps (3x3 for 28x28 images), max-pooled.
  tg::NoGradGuard no_grad;
  const Variable maps = net.group3(net.group2(net.group1(tg::relu(net.stem(x)))));
  CHECK(maps.shape() == tg::Shape{4, 256, 3, 3});
  const Variable features = tg::max_pool2d(maps, 3).flatten();
  const Variable expected = net.fc(features) * (1.0f / 9.0f);
  const Variable again = net.forward(x);
  for (std::size_t i = 0; i < again.numel(); ++i)
    CHECK(again.value().data()[i] == doctest::Approx(expected.value().data()[i]).epsilon(1e-6));
}

TEST_CASE("PoolNet refuses images too small for three halvings and a width out of range") {
  E::PoolNet net(1, 1, 10);
  CHECK_THROWS_WITH_AS(net.forward(Variable(tg::zeros({1, 1, 8, 8}).value())),
                       "PoolNet: expected images [N, C, H, W] with H, W >= 9 (three halvings after the 2x2 stem), "
                       "got [1, 1, 8, 8]", tg::Error);
  CHECK(net.forward(Variable(tg::zeros({2, 1, 9, 9}).value())).shape() == tg::Shape{2, 10});
  CHECK_THROWS_WITH_AS(E::PoolNet(0, 1, 10), "PoolNet: expected a width multiplier in [1, 8], got 0", tg::Error);
}
