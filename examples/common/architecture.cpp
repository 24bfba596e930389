#include "examples/common/architecture.hpp"

#include <algorithm>
#include <cctype>

#include "examples/common/pool_net.hpp"
#include "examples/common/resnet_cifar.hpp"
#include <tapegrad/vision/resnet.hpp>

namespace tg::examples {

int cifar_depth(const std::string& arch) {
  if (arch == "poolnet") return 0;
  const std::string digits = arch.rfind("resnet", 0) == 0 ? arch.substr(6) : "";
  const bool number = !digits.empty() && digits.size() <= 4 &&
                      std::all_of(digits.begin(), digits.end(), [](char ch) { return std::isdigit(ch) != 0; });
  TG_CHECK(number, "--arch: expected resnet18 (torchvision's), resnet<6n + 2> (the CIFAR ResNet: "
           "resnet20, resnet32, resnet44, resnet56) or poolnet (airbench's network), got '", arch, "'");
  const int depth = std::stoi(digits);
  if (depth == 18) return 0;
  blocks_per_stage(depth);  // throws for a depth that is not 6n + 2
  return depth;
}

Network make_network(const std::string& arch, int width, int in_channels, int classes) {
  if (arch == "poolnet") {
    auto net = std::make_shared<PoolNet>(width, in_channels, classes);
    return {net, [net](const Variable& x) { return net->forward(x); },
            "PoolNet (width " + std::to_string(width) + ")"};
  }
  const int depth = cifar_depth(arch);
  if (depth == 0) {
    TG_CHECK(width == 1, "--width: expected 1 with --arch resnet18 (the width multiplier is the "
             "CIFAR ResNet's), got ", width);
    auto net = std::make_shared<vision::models::ResNet>(
        vision::models::resnet18({.num_classes = classes, .in_channels = in_channels}));
    return {net, [net](const Variable& x) { return net->forward(x); }, "ResNet-18 (torchvision)"};
  }
  auto net = std::make_shared<ResNetCifar>(depth, in_channels, classes, width);
  std::string name = "ResNet-" + std::to_string(depth);
  if (width != 1) name += " (width " + std::to_string(width) + ")";
  return {net, [net](const Variable& x) { return net->forward(x); }, name};
}

}  // namespace tg::examples
