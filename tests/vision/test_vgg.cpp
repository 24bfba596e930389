// VGG-11, VGG-11 with BatchNorm, VGG-16 and AlexNet against torchvision 0.14 on the same weights
// (golden/make_golden.py; 4 classes keep the stored last-layer gradients small).
#include "vision/vgg.hpp"

#include "zoo_test_util.hpp"

namespace tg::vision::models {

TEST_CASE("vgg11: torchvision's names, logits and gradients") {
  const auto g = test::zoo::read_golden("vgg11");
  auto net = vgg11({.num_classes = 4, .dropout = 0.0});
  CHECK(test::zoo::check_parity(net, g) >= 8);
}

TEST_CASE("vgg11_bn: torchvision's names, logits and gradients (BatchNorm in training mode)") {
  const auto g = test::zoo::read_golden("vgg11_bn");
  auto net = vgg11_bn({.num_classes = 4, .dropout = 0.0});
  CHECK(test::zoo::check_parity(net, g) >= 10);
}

TEST_CASE("vgg16: torchvision's names, logits and gradients") {
  const auto g = test::zoo::read_golden("vgg16");
  auto net = vgg16({.num_classes = 4, .dropout = 0.0});
  CHECK(test::zoo::check_parity(net, g) >= 8);
}

TEST_CASE("alexnet: torchvision's names, logits and gradients at its smallest input, 63x63") {
  const auto g = test::zoo::read_golden("alexnet");
  auto net = alexnet({.num_classes = 4, .dropout = 0.0});
  CHECK(test::zoo::check_parity(net, g) >= 8);
}

TEST_CASE("vgg, alexnet: torchvision's layer indices, dropout in training only") {
  auto net = vgg11_bn({.num_classes = 3});
  CHECK(net.features->at<nn::BatchNorm2dImpl>(1).num_features == 64);
  CHECK(net.classifier->at<nn::DropoutImpl>(2).p == 0.5);
  auto a = alexnet({.num_classes = 3, .in_channels = 1});
  CHECK(a.features->at<nn::Conv2dImpl>(0).weight.shape() == Shape{64, 1, 11, 11});
  CHECK(a.classifier->at<nn::LinearImpl>(6).out_features == 3);
  CHECK_THROWS_WITH_AS(vgg16({.dropout = 1.5}), doctest::Contains("vgg: expected dropout in [0, 1]"),
                       Error);
}

}  // namespace tg::vision::models
