// ResNet-18/34/50 against torchvision 0.14 on the same weights (golden/make_golden.py).
#include <tapegrad/vision/resnet.hpp>

#include "zoo_test_util.hpp"

namespace tg::vision::models {

TEST_CASE("resnet18 with in_channels 1: torchvision's names, logits and gradients") {
  const auto g = test::zoo::read_golden("resnet18");
  auto net = resnet18({.num_classes = 10, .in_channels = 1});
  CHECK(net.conv1->weight.shape() == Shape{64, 1, 7, 7});
  CHECK(test::zoo::check_parity(net, g) >= 10);
}

TEST_CASE("resnet34: torchvision's names, logits and gradients") {
  const auto g = test::zoo::read_golden("resnet34");
  auto net = resnet34({.num_classes = 10});
  CHECK(test::zoo::check_parity(net, g) >= 10);
}

TEST_CASE("resnet50 (Bottleneck): torchvision's names, logits and gradients") {
  const auto g = test::zoo::read_golden("resnet50");
  auto net = resnet50({.num_classes = 10});
  CHECK(test::zoo::check_parity(net, g, test::zoo::kChaoticGradientTolerance) >= 10);
}

TEST_CASE("resnet: torchvision's parameter counts with 1000 classes") {
  CHECK(resnet18().num_parameters() == 11689512);
  CHECK(resnet34().num_parameters() == 21797672);
  CHECK(resnet50().num_parameters() == 25557032);
}

TEST_CASE("resnet: zero_init_residual zeroes each block's last BatchNorm weight") {
  auto net = resnet18({.num_classes = 2, .zero_init_residual = true});
  const auto dict = net.state_dict();
  CHECK(xt::amax(xt::abs(dict.at("layer3.1.bn2.weight")))() == 0.0f);
  CHECK(xt::amin(dict.at("layer3.1.bn1.weight"))() == 1.0f);
}

TEST_CASE("resnet: wrong options say what was expected") {
  CHECK_THROWS_WITH_AS(resnet18({.num_classes = 0}),
                       doctest::Contains("resnet: expected positive num_classes"), Error);
  CHECK_THROWS_WITH_AS(ResNet(ResNetBlock::Basic, {2, 0, 2, 2}),
                       doctest::Contains("at least one block per stage"), Error);
  // Issue 36, finding 9: 2^62 classes made a 0-element classifier (2048 x 2^62 wraps to 0).
  CHECK_THROWS_WITH_AS(resnet50({.num_classes = std::int64_t{1} << 62}),
                       doctest::Contains("Linear weight: expected a shape of at most"), Error);
}

}  // namespace tg::vision::models
