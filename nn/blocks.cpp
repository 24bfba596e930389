#include "tapegrad/nn/blocks.hpp"

#include "tapegrad/autograd/elementwise.hpp"

namespace tg::nn {

namespace {

// torchvision's downsample: conv1x1(in, out, stride) + BatchNorm2d(out), or nothing.
Sequential projection(std::int64_t in, std::int64_t out, std::int64_t stride) {
  Sequential s;
  if (stride != 1 || in != out) {
    s.push_back(Conv2d(in, out, 1, {.stride = stride, .bias = false}));
    s.push_back(BatchNorm2d(out));
  }
  return s;
}

void check_block(const char* block, std::int64_t in, std::int64_t out, std::int64_t stride) {
  TG_CHECK(in > 0 && out > 0 && stride > 0, block, ": expected positive channels and stride, got ",
           in, ", ", out, ", stride ", stride);
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(std::int64_t in_channels, std::int64_t out_channels,
                               std::int64_t stride)
    : conv1((check_block("BasicBlock", in_channels, out_channels, stride), in_channels),
            out_channels, 3, {.stride = stride, .padding = 1, .bias = false}),
      bn1(out_channels),
      conv2(out_channels, out_channels, 3, {.padding = 1, .bias = false}),
      bn2(out_channels),
      downsample(projection(in_channels, out_channels, stride)) {
  register_module("conv1", conv1);
  register_module("bn1", bn1);
  register_module("relu", relu);
  register_module("conv2", conv2);
  register_module("bn2", bn2);
  if (!downsample.empty()) register_module("downsample", downsample);
}

// relu(bn1(conv1(x))), then relu(bn2(conv2(out)) + downsample(x)), with the ReLUs fused into
// the batch norm and the addition (the same values, fewer passes over memory).
Variable BasicBlockImpl::forward(const Variable& x) {
  Variable out = bn1->forward_relu(conv1(x));
  out = bn2(conv2(out));
  return add_relu(out, downsample(x));
}

BottleneckImpl::BottleneckImpl(std::int64_t in_channels, std::int64_t planes, std::int64_t stride)
    : conv1((check_block("Bottleneck", in_channels, planes, stride), in_channels), planes, 1,
            {.bias = false}),
      bn1(planes),
      conv2(planes, planes, 3, {.stride = stride, .padding = 1, .bias = false}),
      bn2(planes),
      conv3(planes, planes * expansion, 1, {.bias = false}),
      bn3(planes * expansion),
      downsample(projection(in_channels, planes * expansion, stride)) {
  register_module("conv1", conv1);
  register_module("bn1", bn1);
  register_module("conv2", conv2);
  register_module("bn2", bn2);
  register_module("conv3", conv3);
  register_module("bn3", bn3);
  register_module("relu", relu);
  if (!downsample.empty()) register_module("downsample", downsample);
}

Variable BottleneckImpl::forward(const Variable& x) {
  Variable out = bn1->forward_relu(conv1(x));
  out = bn2->forward_relu(conv2(out));
  out = bn3(conv3(out));
  return add_relu(out, downsample(x));
}

}  // namespace tg::nn
