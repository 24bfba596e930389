#include "tapegrad/vision/lenet.hpp"

namespace tg::vision::models {

namespace {
std::int64_t checked(std::int64_t num_classes) {
  TG_CHECK(num_classes > 0, "lenet5: expected a positive num_classes, got ", num_classes);
  return num_classes;
}
}  // namespace

LeNet5::LeNet5(std::int64_t num_classes)
    : c1(1, 6, 5), s2(2), c3(6, 16, 5), s4(2), c5(16, 120, 5), f6(120, 84),
      output(84, checked(num_classes)) {
  register_module("c1", c1);
  register_module("s2", s2);
  register_module("c3", c3);
  register_module("s4", s4);
  register_module("c5", c5);
  register_module("f6", f6);
  register_module("output", output);
}

Variable LeNet5::forward(const Variable& x) {
  nn::ModuleScope scope(*this);
  TG_CHECK(x.dim() == 4 && x.shape()[1] == 1 && x.shape()[2] == 32 && x.shape()[3] == 32,
           "lenet5: expected input [N, 1, 32, 32] (pad 28x28 digits by 2), got ",
           shape_str(x.shape()));
  Variable y = s2(tanh(c1(x)));
  y = s4(tanh(c3(y)));
  y = tanh(c5(y)).flatten(1);
  return output(tanh(f6(y)));
}

LeNet5 lenet5(std::int64_t num_classes) { return LeNet5(num_classes); }

}  // namespace tg::vision::models
