#include "examples/common/resnet_cifar.hpp"

namespace tg::examples {

int blocks_per_stage(int depth) {
  TG_CHECK(depth >= 8 && (depth - 2) % 6 == 0,
           "ResNet: expected a depth of 6n + 2 (14, 20, 32, 44, 56, 110), got ", depth);
  return (depth - 2) / 6;
}

namespace {
nn::Sequential make_stage(int blocks, int in_channels, int out_channels, int stride) {
  nn::Sequential stage;
  for (int b = 0; b < blocks; ++b)
    stage->push_back(nn::BasicBlock(b == 0 ? in_channels : out_channels, out_channels,
                                    b == 0 ? stride : 1));
  return stage;
}

int checked_width(int width) {
  TG_CHECK(width >= 1 && width <= 64, "ResNet: expected a width multiplier in [1, 64], got ", width);
  return width;
}
}  // namespace

ResNetCifar::ResNetCifar(int depth, int in_channels, int num_classes, int width)
    : conv1(in_channels, 16 * checked_width(width), 3, {.stride = 1, .padding = 1, .bias = false}),
      bn1(16 * width),
      layer1(make_stage(blocks_per_stage(depth), 16 * width, 16 * width, 1)),
      layer2(make_stage(blocks_per_stage(depth), 16 * width, 32 * width, 2)),
      layer3(make_stage(blocks_per_stage(depth), 32 * width, 64 * width, 2)),
      fc(64 * width, num_classes) {
  register_module("conv1", conv1);
  register_module("bn1", bn1);
  register_module("layer1", layer1);
  register_module("layer2", layer2);
  register_module("layer3", layer3);
  register_module("avgpool", pool);
  register_module("fc", fc);
}

Variable ResNetCifar::features(const Variable& x) {
  auto y = relu(bn1(conv1(x)));
  y = layer3(layer2(layer1(y)));
  return pool(y).flatten();
}

Variable ResNetCifar::forward(const Variable& x) { return fc(features(x)); }

std::vector<Variable> ResNetCifar::stage_outputs(const Variable& x) {
  std::vector<Variable> outs{relu(bn1(conv1(x)))};
  for (auto* stage : {&layer1, &layer2, &layer3}) outs.push_back((*stage)(outs.back()));
  return outs;
}

}  // namespace tg::examples
