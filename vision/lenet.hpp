#pragma once
/// @file
/// LeNet-5 (LeCun et al. 1998) as the lecture notes draw it; torchvision has no twin, so the names
/// are the paper's layer names:
/// @verbatim
///   c1     Conv2d(1, 6, 5)       [N, 1, 32, 32] -> [N, 6, 28, 28], tanh
///   s2     AvgPool2d(2)          -> [N, 6, 14, 14]
///   c3     Conv2d(6, 16, 5)      -> [N, 16, 10, 10], tanh
///   s4     AvgPool2d(2)          -> [N, 16, 5, 5]
///   c5     Conv2d(16, 120, 5)    -> [N, 120, 1, 1], tanh, flattened
///   f6     Linear(120, 84), tanh
///   output Linear(84, num_classes)
/// @endverbatim
/// state dict: c1.weight/bias, c3.weight/bias, c5.weight/bias, f6.weight/bias, output.weight/bias;
/// 61,706 parameters with 10 classes. The paper's simplifications that everyone makes: S2/S4 are
/// plain average poolings (the paper's had a trainable scale and bias), C3 connects every input
/// map (the paper's used a fixed partial table), the output is a Linear layer (not RBF units).
/// MNIST's 28x28 digits are padded to 32x32, as the paper did.
#include <cstdint>

#include "tapegrad/nn/nn.hpp"

namespace tg::vision::models {

/// LeNet-5 as the file comment draws it: x [N, 1, 32, 32] -> logits [N, num_classes].
class LeNet5 : public nn::Module {
 public:
  /// A new LeNet-5 with PyTorch's default initialisation.
  explicit LeNet5(std::int64_t num_classes = 10);
  /// x [N, 1, 32, 32] -> logits [N, num_classes].
  Variable forward(const Variable& x);
  std::string name() const override { return "LeNet5"; }

  ///@{
  /// The paper's layers (see the table at the top of the file).
  nn::Conv2d c1;
  nn::AvgPool2d s2;
  nn::Conv2d c3;
  nn::AvgPool2d s4;
  nn::Conv2d c5;
  nn::Linear f6, output;
  ///@}
};

/// A new LeNet5: `auto net = lenet5(10);`.
LeNet5 lenet5(std::int64_t num_classes = 10);

}  // namespace tg::vision::models
