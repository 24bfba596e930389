#include "tapegrad/vision/init_weights.hpp"

#include "tapegrad/nn/conv.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/linear.hpp"
#include "tapegrad/nn/normalization.hpp"

namespace tg::vision::models::detail {

namespace {
// BatchNorm's affine parameters as torchvision sets them (which are also PyTorch's defaults).
void init_batch_norm(nn::Module* m) {
  if (auto* bn = dynamic_cast<nn::BatchNormImpl*>(m); bn != nullptr && bn->weight.defined()) {
    nn::init::ones_(bn->weight);
    nn::init::zeros_(bn->bias);
  }
}
}  // namespace

void init_kaiming_fan_out(nn::Module& model, double linear_std) {
  for (nn::Module* m : model.modules()) {
    if (auto* conv = dynamic_cast<nn::Conv2dImpl*>(m)) {
      nn::init::kaiming_normal_(conv->weight, 0.0, nn::init::FanMode::fan_out,
                                nn::init::Nonlinearity::relu);
      if (conv->bias.defined()) nn::init::zeros_(conv->bias);
    } else if (auto* fc = dynamic_cast<nn::LinearImpl*>(m); fc != nullptr && linear_std > 0) {
      nn::init::normal_(fc->weight, 0.0, linear_std);
      if (fc->bias.defined()) nn::init::zeros_(fc->bias);
    }
    init_batch_norm(m);
  }
}

void init_googlenet(nn::Module& model) {
  for (nn::Module* m : model.modules()) {
    if (auto* conv = dynamic_cast<nn::Conv2dImpl*>(m))
      nn::init::normal_(conv->weight, 0.0, 0.01);
    else if (auto* fc = dynamic_cast<nn::LinearImpl*>(m))
      nn::init::normal_(fc->weight, 0.0, 0.01);
    init_batch_norm(m);
  }
}

}  // namespace tg::vision::models::detail
