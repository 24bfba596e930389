#pragma once
// torchvision's weight initialisation schemes, applied to every layer below a module.
#include "tapegrad/nn/module.hpp"

namespace tg::vision::models::detail {

/// ResNet and VGG: Conv2d weights kaiming_normal_(fan_out, relu), conv biases 0; BatchNorm
/// weight 1, bias 0; Linear weights N(0, linear_std^2) and bias 0 when linear_std > 0, else
/// Linear keeps PyTorch's default (ResNet's fc).
void init_kaiming_fan_out(nn::Module& model, double linear_std);

/// GoogLeNet: Conv2d and Linear weights from N(0, 0.01^2) truncated to [-2, 2] (torchvision's
/// trunc_normal_ bounds are absolute: 200 standard deviations, so no draw is ever cut);
/// BatchNorm weight 1, bias 0; Linear biases keep PyTorch's default, as in torchvision.
void init_googlenet(nn::Module& model);

}  // namespace tg::vision::models::detail
