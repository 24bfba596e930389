#include "tapegrad/vision/resnet.hpp"

#include "tapegrad/vision/init_weights.hpp"

namespace tg::vision::models {

namespace {

std::int64_t expansion(ResNetBlock block) {
  return block == ResNetBlock::Basic ? nn::BasicBlockImpl::expansion
                                     : nn::BottleneckImpl::expansion;
}

// torchvision's _make_layer: the first block takes the stride (and projects when needed).
nn::Sequential make_layer(ResNetBlock block, std::int64_t& in_channels, std::int64_t planes,
                          int blocks, std::int64_t stride) {
  nn::Sequential layer;
  for (int b = 0; b < blocks; ++b) {
    std::int64_t s = b == 0 ? stride : 1;
    if (block == ResNetBlock::Basic)
      layer.push_back(nn::BasicBlock(in_channels, planes, s));
    else
      layer.push_back(nn::Bottleneck(in_channels, planes, s));
    in_channels = planes * expansion(block);
  }
  return layer;
}

ResNetOptions checked(const ResNetOptions& o, const std::array<int, 4>& layers) {
  TG_CHECK(o.num_classes > 0 && o.in_channels > 0,
           "resnet: expected positive num_classes and in_channels, got ", o.num_classes, " and ",
           o.in_channels);
  for (int n : layers) TG_CHECK(n > 0, "resnet: expected at least one block per stage, got ", n);
  return o;
}

void zero_last_bn(nn::Sequential& layer, ResNetBlock block) {
  for (std::size_t i = 0; i < layer.size(); ++i) {
    auto& bn = block == ResNetBlock::Basic ? *layer->at<nn::BasicBlockImpl>(i).bn2
                                           : *layer->at<nn::BottleneckImpl>(i).bn3;
    nn::init::zeros_(bn.weight);
  }
}

}  // namespace

ResNet::ResNet(ResNetBlock block, std::array<int, 4> layers, ResNetOptions options)
    : block(block),
      conv1(checked(options, layers).in_channels, 64, 7,
            {.stride = 2, .padding = 3, .bias = false}),
      bn1(64),
      maxpool(3, 2, 1),
      avgpool(1),
      fc(512 * expansion(block), options.num_classes) {
  std::int64_t in = 64;
  layer1 = make_layer(block, in, 64, layers[0], 1);
  layer2 = make_layer(block, in, 128, layers[1], 2);
  layer3 = make_layer(block, in, 256, layers[2], 2);
  layer4 = make_layer(block, in, 512, layers[3], 2);
  register_module("conv1", conv1);
  register_module("bn1", bn1);
  register_module("relu", relu);
  register_module("maxpool", maxpool);
  register_module("layer1", layer1);
  register_module("layer2", layer2);
  register_module("layer3", layer3);
  register_module("layer4", layer4);
  register_module("avgpool", avgpool);
  register_module("fc", fc);
  detail::init_kaiming_fan_out(*this, 0.0);  // fc keeps PyTorch's default, as in torchvision
  if (options.zero_init_residual)
    for (auto* layer : {&layer1, &layer2, &layer3, &layer4}) zero_last_bn(*layer, block);
}

Variable ResNet::forward(const Variable& x) {
  nn::ModuleScope scope(*this);
  Variable y = maxpool(bn1->forward_relu(conv1(x)));
  y = layer4(layer3(layer2(layer1(y))));
  return fc(avgpool(y).flatten(1));
}

ResNet resnet18(ResNetOptions options) { return ResNet(ResNetBlock::Basic, {2, 2, 2, 2}, options); }
ResNet resnet34(ResNetOptions options) { return ResNet(ResNetBlock::Basic, {3, 4, 6, 3}, options); }
ResNet resnet50(ResNetOptions options) {
  return ResNet(ResNetBlock::Bottleneck, {3, 4, 6, 3}, options);
}

}  // namespace tg::vision::models
