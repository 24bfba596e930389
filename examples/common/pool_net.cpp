#include "examples/common/pool_net.hpp"

namespace tg::examples {

namespace {
nn::Sequential conv_group(int in_channels, int out_channels) {
  const nn::Conv2dOptions same{.stride = 1, .padding = 1, .bias = false};
  nn::Sequential group;
  group->push_back(nn::Conv2d(in_channels, out_channels, 3, same));
  group->push_back(nn::MaxPool2d(2));
  group->push_back(nn::BatchNorm2d(out_channels));
  group->push_back(nn::ReLU());
  group->push_back(nn::Conv2d(out_channels, out_channels, 3, same));
  group->push_back(nn::BatchNorm2d(out_channels));
  group->push_back(nn::ReLU());
  return group;
}

int checked_width(int width) {
  TG_CHECK(width >= 1 && width <= 8, "PoolNet: expected a width multiplier in [1, 8], got ", width);
  return width;
}
}  // namespace

PoolNet::PoolNet(int width, int in_channels, int num_classes)
    : stem(in_channels, 8 * in_channels, 2, {.stride = 1, .padding = 0, .bias = true}),
      group1(conv_group(8 * in_channels, 64 * checked_width(width))),
      group2(conv_group(64 * width, 128 * width)),
      group3(conv_group(128 * width, 256 * width)),
      fc(256 * width, num_classes, false) {
  register_module("stem", stem);
  register_module("group1", group1);
  register_module("group2", group2);
  register_module("group3", group3);
  register_module("fc", fc);
}

Variable PoolNet::forward(const Variable& x) {
  TG_CHECK(x.dim() == 4 && x.shape()[2] >= 9 && x.shape()[3] >= 9, "PoolNet: expected images [N, C, H, W] "
           "with H, W >= 9 (three halvings after the 2x2 stem), got ", shape_str(x.shape()));
  auto y = group3(group2(group1(relu(stem(x)))));
  const auto h = std::int64_t(y.shape()[2]), w = std::int64_t(y.shape()[3]);
  y = max_pool2d(y, {.kernel_h = h, .kernel_w = w}).flatten();
  // airbench's 1/9: small logits at the start, so the classifier does not outrun the features.
  return fc(y) * (1.0f / 9.0f);
}

}  // namespace tg::examples
