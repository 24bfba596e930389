// Printing: each layer exactly as PyTorch prints it, trees, counts, Python's float repr.
#include <doctest/doctest.h>

#include <sstream>

#include <tapegrad/nn/format.hpp>
#include <tapegrad/nn/nn.hpp>

namespace {

namespace nn = tg::nn;
using tg::Variable;

template <class M>
std::string printed(const M& m) {
  std::ostringstream out;
  out << m;
  return out.str();
}

struct SimpleCNN : nn::Module {
  nn::Conv2d conv1{3, 5, 5};
  nn::MaxPool2d pool{2, 2};
  nn::Conv2d conv2{5, 10, 5};
  nn::Linear fc1{10 * 5 * 5, 32};
  nn::Linear fc2{32, 10};
  SimpleCNN() {
    register_module("conv1", conv1);
    register_module("pool", pool);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Variable forward(Variable x) {
    x = pool(tg::relu(conv1(x)));
    x = pool(tg::relu(conv2(x)));
    x = x.view({-1, 10 * 5 * 5});
    x = tg::relu(fc1(x));
    return fc2(x);
  }
};

}  // namespace

TEST_CASE("layers print exactly as PyTorch 1.13 prints them") {
  // Expected strings: repr() of the same torch.nn modules.
  CHECK(printed(nn::Conv2d(3, 16, 3, {.padding = 1, .bias = false})) ==
        "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)");
  CHECK(printed(nn::Conv2d(3, 5, 5)) == "Conv2d(3, 5, kernel_size=(5, 5), stride=(1, 1))");
  CHECK(printed(nn::Conv2d(4, 6, {3, 5}, {.stride = {2, 1}, .dilation = 2, .groups = 2})) ==
        "Conv2d(4, 6, kernel_size=(3, 5), stride=(2, 1), dilation=(2, 2), groups=2)");
  CHECK(printed(nn::Linear(250, 32)) == "Linear(in_features=250, out_features=32, bias=True)");
  CHECK(printed(nn::Linear(3, 1, false)) == "Linear(in_features=3, out_features=1, bias=False)");
  CHECK(printed(nn::MaxPool2d(2, 2)) ==
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  CHECK(printed(nn::MaxPool2d({3, 3}, 0, 1, true)) ==
        "MaxPool2d(kernel_size=(3, 3), stride=(3, 3), padding=1, dilation=1, ceil_mode=True)");
  CHECK(printed(nn::AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
  CHECK(printed(nn::AdaptiveAvgPool2d({1, 1})) == "AdaptiveAvgPool2d(output_size=(1, 1))");
  CHECK(printed(nn::AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)");
  CHECK(printed(nn::BatchNorm2d(16)) ==
        "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  CHECK(printed(nn::BatchNorm1d(4, {.eps = 1e-3, .momentum = std::nullopt, .affine = false})) ==
        "BatchNorm1d(4, eps=0.001, momentum=None, affine=False, track_running_stats=True)");
  CHECK(printed(nn::Dropout()) == "Dropout(p=0.5, inplace=False)");
  CHECK(printed(nn::Dropout(0)) == "Dropout(p=0.0, inplace=False)");
  CHECK(printed(nn::ReLU()) == "ReLU()");
  CHECK(printed(nn::LeakyReLU()) == "LeakyReLU(negative_slope=0.01)");
  CHECK(printed(nn::Sigmoid()) == "Sigmoid()");
  CHECK(printed(nn::Tanh()) == "Tanh()");
  CHECK(printed(nn::Softmax(1)) == "Softmax(dim=1)");
  CHECK(printed(nn::Flatten()) == "Flatten(start_dim=1, end_dim=-1)");
  CHECK(printed(nn::Identity()) == "Identity()");
  CHECK(printed(nn::Sequential()) == "Sequential()");
}

TEST_CASE("a model prints as PyTorch's tree, then its parameter count") {
  SimpleCNN model;
  CHECK(printed(model) ==
        "SimpleCNN(\n"
        "  (conv1): Conv2d(3, 5, kernel_size=(5, 5), stride=(1, 1))\n"
        "  (pool): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (conv2): Conv2d(5, 10, kernel_size=(5, 5), stride=(1, 1))\n"
        "  (fc1): Linear(in_features=250, out_features=32, bias=True)\n"
        "  (fc2): Linear(in_features=32, out_features=10, bias=True)\n"
        ")\n"
        "parameters: 10,002 (trainable: 10,002)");
  model.conv1->weight.set_requires_grad(false);
  CHECK(printed(model).find("parameters: 10,002 (trainable: 9,627)") != std::string::npos);
}

TEST_CASE("nested modules are indented as PyTorch's _addindent does") {
  nn::Sequential seq(nn::Linear(4, 3), nn::Sequential(nn::ReLU(), nn::Dropout(0.25)));
  CHECK(nn::repr(*seq) ==
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.25, inplace=False)\n"
        "  )\n"
        ")");
  CHECK(nn::repr(*nn::BasicBlock(16, 32, 2)) ==
        "BasicBlock(\n"
        "  (conv1): Conv2d(16, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)\n"
        "  (bn1): BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  (relu): ReLU()\n"
        "  (conv2): Conv2d(32, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
        "  (bn2): BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  (downsample): Sequential(\n"
        "    (0): Conv2d(16, 32, kernel_size=(1, 1), stride=(2, 2), bias=False)\n"
        "    (1): BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  )\n"
        ")");
}

TEST_CASE("floats print as Python's repr") {
  using tg::nn::detail::py_float;
  CHECK(py_float(0.1) == "0.1");
  CHECK(py_float(1e-5) == "1e-05");
  CHECK(py_float(1.5e-7) == "1.5e-07");
  CHECK(py_float(0.0001) == "0.0001");
  CHECK(py_float(1.0) == "1.0");
  CHECK(py_float(0.0) == "0.0");
  CHECK(py_float(-2.5) == "-2.5");
  CHECK(py_float(123.456) == "123.456");
  CHECK(py_float(2.0 / 3) == "0.6666666666666666");
  CHECK(py_float(1e16) == "1e+16");
  CHECK(py_float(1234567890123456.0) == "1234567890123456.0");
  CHECK(tg::nn::detail::thousands(272474) == "272,474");
  CHECK(tg::nn::detail::thousands(999) == "999");
  CHECK(tg::nn::detail::thousands(1000000) == "1,000,000");
}
