#include "tapegrad/vision/vgg.hpp"

#include "tapegrad/vision/init_weights.hpp"

namespace tg::vision::models {

namespace {

const std::vector<int> kConfigA = {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
const std::vector<int> kConfigD = {64,  64,  0,   128, 128, 0,   256, 256, 256,
                                   0,   512, 512, 512, 0,   512, 512, 512, 0};

void check_classes(const char* model, std::int64_t num_classes, std::int64_t in_channels,
                   double dropout) {
  TG_CHECK(num_classes > 0 && in_channels > 0,
           model, ": expected positive num_classes and in_channels, got ", num_classes, " and ",
           in_channels);
  TG_CHECK(dropout >= 0 && dropout <= 1, model, ": expected dropout in [0, 1], got ", dropout);
}

// torchvision's make_layers: conv 3x3 (padding 1) [+ BN] + ReLU per number, 2x2 max pool per 0.
nn::Sequential make_features(const std::vector<int>& config, bool batch_norm,
                             std::int64_t in_channels) {
  nn::Sequential features;
  for (int v : config) {
    if (v == 0) {
      features.push_back(nn::MaxPool2d(2, 2));
      continue;
    }
    features.push_back(nn::Conv2d(in_channels, v, 3, {.padding = 1}));
    if (batch_norm) features.push_back(nn::BatchNorm2d(v));
    features.push_back(nn::ReLU());
    in_channels = v;
  }
  return features;
}

// Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear (VGG); AlexNet puts each Dropout first.
nn::Sequential make_classifier(std::int64_t in, std::int64_t classes, double p,
                               bool dropout_first) {
  nn::Sequential c;
  for (std::int64_t width : {in, std::int64_t{4096}}) {
    if (dropout_first) c.push_back(nn::Dropout(p));
    c.push_back(nn::Linear(width, 4096));
    c.push_back(nn::ReLU());
    if (!dropout_first) c.push_back(nn::Dropout(p));
  }
  c.push_back(nn::Linear(4096, classes));
  return c;
}

}  // namespace

VGG::VGG(const std::vector<int>& config, bool batch_norm, VGGOptions options)
    : features((check_classes("vgg", options.num_classes, options.in_channels, options.dropout),
                make_features(config, batch_norm, options.in_channels))),
      avgpool(7),
      classifier(make_classifier(512 * 7 * 7, options.num_classes, options.dropout, false)) {
  register_module("features", features);
  register_module("avgpool", avgpool);
  register_module("classifier", classifier);
  detail::init_kaiming_fan_out(*this, 0.01);
}

Variable VGG::forward(const Variable& x) {
  nn::ModuleScope scope(*this);
  return classifier(avgpool(features(x)).flatten(1));
}

VGG vgg11(VGGOptions options) { return VGG(kConfigA, false, options); }
VGG vgg11_bn(VGGOptions options) { return VGG(kConfigA, true, options); }
VGG vgg16(VGGOptions options) { return VGG(kConfigD, false, options); }

AlexNet::AlexNet(AlexNetOptions o)
    : features((check_classes("alexnet", o.num_classes, o.in_channels, o.dropout),
                nn::Sequential(nn::Conv2d(o.in_channels, 64, 11, {.stride = 4, .padding = 2}),
                               nn::ReLU(), nn::MaxPool2d(3, 2),
                               nn::Conv2d(64, 192, 5, {.padding = 2}), nn::ReLU(),
                               nn::MaxPool2d(3, 2), nn::Conv2d(192, 384, 3, {.padding = 1}),
                               nn::ReLU(), nn::Conv2d(384, 256, 3, {.padding = 1}), nn::ReLU(),
                               nn::Conv2d(256, 256, 3, {.padding = 1}), nn::ReLU(),
                               nn::MaxPool2d(3, 2)))),
      avgpool(6),
      classifier(make_classifier(256 * 6 * 6, o.num_classes, o.dropout, true)) {
  register_module("features", features);
  register_module("avgpool", avgpool);
  register_module("classifier", classifier);
}

Variable AlexNet::forward(const Variable& x) {
  nn::ModuleScope scope(*this);
  return classifier(avgpool(features(x)).flatten(1));
}

AlexNet alexnet(AlexNetOptions options) { return AlexNet(options); }

}  // namespace tg::vision::models
