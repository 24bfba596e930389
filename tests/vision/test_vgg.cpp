// VGG-11, VGG-11 with BatchNorm, VGG-16 and AlexNet against torchvision 0.14 on the same weights
// (golden/make_golden.py; 4 classes keep the stored last-layer gradients small).
#include <tapegrad/vision/vgg.hpp>

#include "zoo_test_util.hpp"

namespace tg::vision::models {

namespace {
// VGG's and AlexNet's classifiers hold 57-120 million weights at any input size: a few seconds
// per model in a Release build, minutes under AddressSanitizer, whose build runs the ResNet,
// GoogLeNet and LeNet-5 parity tests (the same driver) and skips these.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kHeavy = true;
#else
constexpr bool kHeavy = false;
#endif
}  // namespace

TEST_CASE("vgg11: torchvision's names, logits and gradients" *
          doctest::skip(kHeavy)) {
  const auto g = test::zoo::read_golden("vgg11");
  auto net = vgg11({.num_classes = 4, .dropout = 0.0});
  CHECK(test::zoo::check_parity(net, g) >= 8);
}

TEST_CASE("vgg11_bn: torchvision's names, logits and gradients (BatchNorm in training mode)" *
          doctest::skip(kHeavy)) {
  const auto g = test::zoo::read_golden("vgg11_bn");
  auto net = vgg11_bn({.num_classes = 4, .dropout = 0.0});
  CHECK(net.features->at<nn::BatchNorm2dImpl>(1).num_features == 64);  // torchvision's indices
  CHECK(test::zoo::check_parity(net, g) >= 8);
}

TEST_CASE("vgg16: torchvision's names, logits and gradients" *
          doctest::skip(kHeavy)) {
  const auto g = test::zoo::read_golden("vgg16");
  auto net = vgg16({.num_classes = 4, .dropout = 0.0});
  CHECK(test::zoo::check_parity(net, g) >= 8);
}

TEST_CASE("alexnet: torchvision's names, logits and gradients at its smallest input, 63x63" *
          doctest::skip(kHeavy)) {
  const auto g = test::zoo::read_golden("alexnet");
  auto net = alexnet({.num_classes = 4, .dropout = 0.0});
  CHECK(net.classifier->at<nn::LinearImpl>(6).out_features == 4);
  CHECK(test::zoo::check_parity(net, g) >= 8);
}

TEST_CASE("vgg, alexnet: wrong options say what was expected") {
  CHECK_THROWS_WITH_AS(vgg16({.dropout = 1.5}),
                       doctest::Contains("vgg: expected dropout in [0, 1]"), Error);
  CHECK_THROWS_WITH_AS(alexnet({.num_classes = 0}),
                       doctest::Contains("alexnet: expected positive num_classes"), Error);
}

}  // namespace tg::vision::models
