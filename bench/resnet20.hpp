#pragma once
// The benchmarks' ResNet-20 (tapegrad_bench's W4 workload, dist_bench's training runs): the
// library's residual blocks, projection shortcuts, 272,474 parameters
// (tg::bench::kResNet20Params).
#include <tapegrad/nn/nn.hpp>

namespace tg::bench {

// torchvision-style CIFAR ResNet-20: 3x3 stem (16 ch) + BN + ReLU, three stages of three
// BasicBlocks (16, 32, 64 channels; stride 2 entering stages 2 and 3, with 1x1 conv + BN
// projection shortcuts), global average pool, fc 64 -> 10.
struct ResNet20 : tg::nn::Module {
  tg::nn::Conv2d conv1;
  tg::nn::BatchNorm2d bn1{16};
  tg::nn::Sequential layer1 = stage(16, 16, 1), layer2 = stage(16, 32, 2), layer3 = stage(32, 64, 2);
  tg::nn::AdaptiveAvgPool2d avgpool{{1, 1}};
  tg::nn::Linear fc{64, 10};

  explicit ResNet20(std::int64_t in_channels = 3) : conv1(in_channels, 16, 3, {.padding = 1, .bias = false}) {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("layer1", layer1);
    register_module("layer2", layer2);
    register_module("layer3", layer3);
    register_module("avgpool", avgpool);
    register_module("fc", fc);
  }
  static tg::nn::Sequential stage(std::int64_t in, std::int64_t out, std::int64_t stride) {
    return tg::nn::Sequential(tg::nn::BasicBlock(in, out, stride), tg::nn::BasicBlock(out, out),
                              tg::nn::BasicBlock(out, out));
  }
  Variable forward(const Variable& x) {
    Variable y = tg::relu(bn1(conv1(x)));
    y = layer3(layer2(layer1(y)));
    return fc(avgpool(y).flatten(1));
  }
};

}  // namespace tg::bench
