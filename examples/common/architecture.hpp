#pragma once
// The trainer's --arch: the CIFAR-style ResNet of examples/common/resnet_cifar.hpp (any
// depth 6n + 2, any width), torchvision's ResNet-18 from the model zoo (vision/) or the PoolNet
// of examples/common/pool_net.hpp, behind one handle so that training, checkpoints, EMA and
// export need not know which.
#include <functional>
#include <memory>
#include <string>

#include <tapegrad/nn/module.hpp>

namespace tg::examples {

/// A classifier: the module (parameters, buffers, modes) and its forward pass.
struct Network {
  std::shared_ptr<nn::Module> module;
  std::function<Variable(const Variable&)> forward;
  std::string name;  ///< "ResNet-20", "ResNet-20 (width 2)", "ResNet-18 (torchvision)"
};

/// "resnet<6n + 2>" (CIFAR-style, that depth: resnet20, resnet32, ...), "resnet18"
/// (torchvision's, whose stem downsamples 4x) or "poolnet" (airbench's network, pool_net.hpp);
/// `width` multiplies the CIFAR ResNet's or PoolNet's channels.
/// Throws tg::Error naming --arch or --width for anything else.
Network make_network(const std::string& arch, int width, int in_channels, int classes);

/// The depth of a CIFAR ResNet name ("resnet32": 32), 0 for "resnet18" and "poolnet".
int cifar_depth(const std::string& arch);

}  // namespace tg::examples
