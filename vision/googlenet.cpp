#include "tapegrad/vision/googlenet.hpp"

#include "tapegrad/vision/init_weights.hpp"

namespace tg::vision::models {

BasicConv2dImpl::BasicConv2dImpl(std::int64_t in_channels, std::int64_t out_channels,
                                 nn::Size2 kernel_size, nn::Conv2dOptions options)
    : conv(in_channels, out_channels, kernel_size, (options.bias = false, options)),
      bn(out_channels, {.eps = 0.001}) {
  register_module("conv", conv);
  register_module("bn", bn);
}

Variable BasicConv2dImpl::forward(const Variable& x) { return bn->forward_relu(conv(x)); }

InceptionImpl::InceptionImpl(std::int64_t in_channels, std::int64_t ch1x1, std::int64_t ch3x3red,
                             std::int64_t ch3x3, std::int64_t ch5x5red, std::int64_t ch5x5,
                             std::int64_t pool_proj)
    : branch1(in_channels, ch1x1, 1),
      branch2(BasicConv2d(in_channels, ch3x3red, 1),
              BasicConv2d(ch3x3red, ch3x3, 3, {.padding = 1})),
      // torchvision's "5x5" branch has a 3x3 kernel (its weights were trained so; kept).
      branch3(BasicConv2d(in_channels, ch5x5red, 1),
              BasicConv2d(ch5x5red, ch5x5, 3, {.padding = 1})),
      branch4(nn::MaxPool2d(3, 1, 1, /*ceil_mode=*/true), BasicConv2d(in_channels, pool_proj, 1)) {
  register_module("branch1", branch1);
  register_module("branch2", branch2);
  register_module("branch3", branch3);
  register_module("branch4", branch4);
}

Variable InceptionImpl::forward(const Variable& x) {
  return cat({branch1(x), branch2(x), branch3(x), branch4(x)}, 1);
}

InceptionAuxImpl::InceptionAuxImpl(std::int64_t in_channels, std::int64_t num_classes,
                                   double dropout_p)
    : conv(in_channels, 128, 1), fc1(2048, 1024), fc2(1024, num_classes), dropout(dropout_p) {
  register_module("conv", conv);
  register_module("fc1", fc1);
  register_module("fc2", fc2);
  register_module("dropout", dropout);
}

// aux1: [N, 512, 14, 14] -> [N, 512, 4, 4] -> [N, 128, 4, 4] -> [N, 2048] -> [N, 1024] -> classes
// (at 224x224 input; the adaptive pooling makes any size work).
Variable InceptionAuxImpl::forward(const Variable& x) {
  Variable y = conv(adaptive_avg_pool2d(x, {4, 4})).flatten(1);
  y = dropout(relu(fc1(y)));
  return fc2(y);
}

namespace {
GoogLeNetOptions checked(const GoogLeNetOptions& o) {
  TG_CHECK(o.num_classes > 0, "googlenet: expected a positive num_classes, got ", o.num_classes);
  TG_CHECK(o.dropout >= 0 && o.dropout <= 1 && o.dropout_aux >= 0 && o.dropout_aux <= 1,
           "googlenet: expected dropout and dropout_aux in [0, 1], got ", o.dropout, " and ",
           o.dropout_aux);
  return o;
}
}  // namespace

GoogLeNet::GoogLeNet(GoogLeNetOptions o)
    : options(checked(o)),
      conv1(3, 64, 7, {.stride = 2, .padding = 3}),
      maxpool1(3, 2, 0, true),
      conv2(64, 64, 1),
      conv3(64, 192, 3, {.padding = 1}),
      maxpool2(3, 2, 0, true),
      inception3a(192, 64, 96, 128, 16, 32, 32),
      inception3b(256, 128, 128, 192, 32, 96, 64),
      maxpool3(3, 2, 0, true),
      inception4a(480, 192, 96, 208, 16, 48, 64),
      inception4b(512, 160, 112, 224, 24, 64, 64),
      inception4c(512, 128, 128, 256, 24, 64, 64),
      inception4d(512, 112, 144, 288, 32, 64, 64),
      inception4e(528, 256, 160, 320, 32, 128, 128),
      maxpool4(2, 2, 0, true),
      inception5a(832, 256, 160, 320, 32, 128, 128),
      inception5b(832, 384, 192, 384, 48, 128, 128),
      avgpool(1),
      dropout(o.dropout),
      fc(1024, o.num_classes) {
  const char* names[] = {"conv1",       "maxpool1",    "conv2",       "conv3",
                         "maxpool2",    "inception3a", "inception3b", "maxpool3",
                         "inception4a", "inception4b", "inception4c", "inception4d",
                         "inception4e", "maxpool4",    "inception5a", "inception5b"};
  nn::Layer* layers[] = {&*conv1,       &*maxpool1,    &*conv2,       &*conv3,
                         &*maxpool2,    &*inception3a, &*inception3b, &*maxpool3,
                         &*inception4a, &*inception4b, &*inception4c, &*inception4d,
                         &*inception4e, &*maxpool4,    &*inception5a, &*inception5b};
  for (std::size_t i = 0; i < std::size(names); ++i)
    register_module(names[i], layers[i]->shared_from_this());
  if (o.aux_logits) {
    aux1 = register_module("aux1", InceptionAux(512, o.num_classes, o.dropout_aux));
    aux2 = register_module("aux2", InceptionAux(528, o.num_classes, o.dropout_aux));
  }
  register_module("avgpool", avgpool);
  register_module("dropout", dropout);
  register_module("fc", fc);
  detail::init_googlenet(*this);
}

// torchvision's _transform_input: from ImageNet's mean/std normalisation to (x - 0.5) / 0.5.
Variable GoogLeNet::transform(const Variable& x) const {
  const float mean[] = {0.485f, 0.456f, 0.406f}, std[] = {0.229f, 0.224f, 0.225f};
  std::vector<Variable> channels;
  for (std::int64_t c = 0; c < 3; ++c)
    channels.push_back(narrow(x, 1, c, 1) * (std[c] / 0.5f) + (mean[c] - 0.5f) / 0.5f);
  return cat(channels, 1);
}

GoogLeNetOutputs GoogLeNet::forward(const Variable& input) {
  nn::ModuleScope scope(*this);
  TG_CHECK(input.dim() == 4 && input.shape()[1] == 3,
           "googlenet: expected input [N, 3, H, W], got ", shape_str(input.shape()));
  Variable x = options.transform_input ? transform(input) : input;
  x = maxpool2(conv3(conv2(maxpool1(conv1(x)))));
  x = maxpool3(inception3b(inception3a(x)));
  x = inception4a(x);
  const bool aux = options.aux_logits && is_training();
  GoogLeNetOutputs out;
  if (aux) out.aux_logits1 = aux1(x);
  x = inception4d(inception4c(inception4b(x)));
  if (aux) out.aux_logits2 = aux2(x);
  x = maxpool4(inception4e(x));
  x = avgpool(inception5b(inception5a(x))).flatten(1);
  out.logits = fc(dropout(x));
  return out;
}

GoogLeNet googlenet(GoogLeNetOptions options) { return GoogLeNet(options); }

}  // namespace tg::vision::models
