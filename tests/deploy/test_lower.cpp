// Each op's ONNX form, run by OpenCV's DNN module against tapegrad's own output (tolerance
// 1e-4 + 1e-4 * |ref|). The cases are data: an input shape and a forward function over a
// module holding the parameters it needs.
#include <functional>

#include <tapegrad/nn/nn.hpp>
#include <tapegrad/deploy/export.hpp>
#include "deploy/opencv_runner.hpp"

namespace tg {
namespace {

// A module whose forward is a function of the input and its own parameters `p`.
struct Net : nn::Module {
  std::vector<Variable> p;
  std::function<Variable(Net&, const Variable&)> f;
  Variable forward(const Variable& x) { return f(*this, x); }
  Variable param(const Shape& shape, float lo, float hi) {
    std::string name = std::to_string(p.size());  // "p" + ...: a false -Wstringop-overflow in GCC 12
    name.insert(name.begin(), 'p');
    p.push_back(register_parameter(name, Variable(test::uniform(shape, lo, hi, 50 + p.size()))));
    return p.back();
  }
};

struct Case {
  const char* name;
  Shape input;
  std::function<void(Net&)> setup;  // registers parameters, sets f
  bool opencv = true;  // false: OpenCV 4.6 cannot read the op; ONNX's checker alone judges it
};

Pool2dOptions pool(std::int64_t k, std::int64_t s, std::int64_t p, bool ceil, bool include_pad) {
  return {.kernel_h = k, .kernel_w = k, .stride_h = s, .stride_w = s, .padding_h = p,
          .padding_w = p, .ceil_mode = ceil, .count_include_pad = include_pad};
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all{
      {"conv2d with groups, dilation and padding", {2, 4, 9, 9}, [](Net& n) {
         auto w = n.param({6, 2, 3, 3}, -0.5f, 0.5f), b = n.param({6}, -0.5f, 0.5f);
         n.f = [w, b](Net&, const Variable& x) {
           return conv2d(x, w, b, {.stride = 2, .padding = 2, .dilation = 2, .groups = 2});
         };
       }},
      {"conv2d with per-axis stride and padding", {2, 3, 8, 7}, [](Net& n) {
         auto w = n.param({4, 3, 3, 2}, -0.5f, 0.5f);
         n.f = [w](Net&, const Variable& x) {
           return conv2d(x, w, Variable(), {.stride_h = 2, .stride_w = 1, .padding_h = 1, .padding_w = 0});
         };
       }},
      {"max_pool2d with ceil_mode", {2, 3, 10, 10}, [](Net& n) {
         n.f = [](Net&, const Variable& x) { return max_pool2d(x, 3, 2, 0, true); };
       }},
      {"avg_pool2d with ceil_mode, padding not counted", {2, 3, 10, 10}, [](Net& n) {
         n.f = [](Net&, const Variable& x) { return avg_pool2d(x, pool(3, 2, 1, true, false)); };
       }},
      {"avg_pool2d with padding counted", {2, 3, 9, 9}, [](Net& n) {
         n.f = [](Net&, const Variable& x) { return avg_pool2d(x, pool(3, 2, 1, false, true)); };
       }},
      // 5 wide, kernel 2, stride 2, padding 1, ceil: PyTorch drops the window that would start
      // in the right padding (size 3) where ONNX's ceil_mode keeps it (size 4).
      {"max_pool2d and avg_pool2d where ceil_mode differs from ONNX's", {2, 3, 5, 5}, [](Net& n) {
         n.f = [](Net&, const Variable& x) {
           return max_pool2d(x, pool(2, 2, 1, true, true)) + avg_pool2d(x, pool(2, 2, 1, true, true)) +
                  avg_pool2d(x, pool(2, 2, 1, true, false));
         };
       }},
      {"avg_pool2d with ceil_mode, padding counted, windows past the padded edge", {2, 3, 10, 10}, [](Net& n) {
         n.f = [](Net&, const Variable& x) { return avg_pool2d(x, pool(3, 2, 1, true, true)); };
       }},
      {"min_pool2d as -max_pool(-x)", {2, 3, 8, 8}, [](Net& n) {
         n.f = [](Net&, const Variable& x) { return min_pool2d(x, 2); };
       }},
      {"adaptive_avg_pool2d to a divisor of the input", {2, 3, 8, 6}, [](Net& n) {
         n.f = [](Net&, const Variable& x) { return adaptive_avg_pool2d(x, {4, 3}); };
       }},
      {"leaky_relu, sigmoid, tanh, abs", {2, 3, 4, 4}, [](Net& n) {
         n.f = [](Net&, const Variable& x) { return tanh(sigmoid(leaky_relu(x, 0.2f)) * 3.0f) + abs(x); };
       }},
      {"a concat skip", {2, 3, 5, 5}, [](Net& n) {
         auto w = n.param({4, 3, 3, 3}, -0.5f, 0.5f);
         n.f = [w](Net&, const Variable& x) { return cat({x, relu(conv2d(x, w, Variable(), {.padding = 1}))}, 1); };
       }},
      {"batch_norm_relu and add_relu as two nodes each", {2, 3, 4, 4}, [](Net& n) {
         auto g = n.param({3}, 0.5f, 1.5f), b = n.param({3}, -0.5f, 0.5f);
         n.f = [g, b, mean = test::uniform({3}, -0.5f, 0.5f, 3), var = test::uniform({3}, 0.5f, 2.0f, 4)](
                   Net&, const Variable& x) mutable {
           Variable y = batch_norm_relu(x, &mean, &var, g, b, false, 0.1f, 1e-3f);
           return add_relu(y, x * -1.0f);
         };
       }},
      // [C, 1, 1]: OpenCV 4.6 cannot add a [1, C, 1, 1] constant (its broadcasting is partial).
      {"sub, mul, div broadcasting against [C, 1, 1]", {2, 3, 4, 4}, [](Net& n) {
         auto a = n.param({3, 1, 1}, -1.0f, 1.0f), d = n.param({3, 1, 1}, 1.0f, 2.0f);
         n.f = [a, d](Net&, const Variable& x) { return (x - a) * a / d; };
       }},
      {"exp, log, sqrt, pow", {2, 3, 4, 4}, [](Net& n) {
         n.f = [](Net&, const Variable& x) {
           Variable pos = exp(x * 0.5f) + 1.0f;
           return sqrt(pos) + log(pos) + pow(pos, 1.5f) + 2.0f / pos;
         };
       }},
      {"transpose and softmax", {2, 3, 4, 5}, [](Net& n) {
         n.f = [](Net&, const Variable& x) { return softmax(x.transpose(1, 3), 1); };
       }},
      {"linear and log_softmax", {4, 12}, [](Net& n) {
         auto w = n.param({5, 12}, -0.5f, 0.5f), b = n.param({5}, -0.5f, 0.5f);
         n.f = [w, b](Net&, const Variable& x) { return log_softmax(linear(x, w, b), 1); };
       }},
      {"slice along channels", {2, 6, 4, 4}, [](Net& n) {
         n.f = [](Net&, const Variable& x) { return slice(x, 1, 1, 5); };
       }},
      {"dropout in eval mode is the identity", {2, 8}, [](Net& n) {
         n.f = [](Net& self, const Variable& x) { return dropout(x * 2.0f, 0.5f, self.is_training()); };
       }},
      {"linear on [N, L, in] as MatMul and Add, then matmul", {2, 3, 6}, [](Net& n) {
         auto w = n.param({4, 6}, -0.5f, 0.5f), b = n.param({4}, -0.5f, 0.5f), m = n.param({4, 5}, -0.5f, 0.5f);
         n.f = [w, b, m](Net&, const Variable& x) { return matmul(linear(x, w, b), m); };
       }},
      // Clip with its bounds as inputs (opset 11 on); OpenCV 4.6 reads only Clip-6's attributes.
      {"clamp", {2, 3, 4, 4}, [](Net& n) {
         n.f = [](Net&, const Variable& x) { return clamp(x, -1.0f, 1.5f) + clamp(x, -0.5f); };
       }, false},
      {"sum, mean and max along a dim, and over everything", {2, 3, 4, 4}, [](Net& n) {
         n.f = [](Net&, const Variable& x) {
           return sum(x, 1, true) + max(x, 1, true) + mean(x, 1, true) + sum(x) + max(x);
         };
       }},
      {"reshape keeping the batch", {2, 4, 3, 3}, [](Net& n) {
         n.f = [](Net&, const Variable& x) { return relu(x.view({-1, 4, 9})); };
       }},
  };
  return all;
}

}  // namespace

TEST_CASE("lower: every op's ONNX form runs in OpenCV with tapegrad's values") {
  const auto dir = test::temp_dir("onnx_ops");
  for (const Case& c : cases()) {
    INFO(std::string(c.name));
    Net net;
    c.setup(net);
    const Tensor x = test::uniform(c.input, -2.0f, 2.0f, 9);
    const auto path = dir / "op.onnx";
    try {  // every case runs, whichever fails
      onnx::export_model(net, x, path);  // ONNX's checker and shape inference passed
      if (!c.opencv) continue;
      const Tensor expected = test::run_tapegrad(net, [&](const Variable& v) { return net.forward(v); }, x);
      test::check_runtime_close(test::run_opencv(path, x), expected);
    } catch (const std::exception& e) {
      FAIL_CHECK(std::string(e.what()));
    }
  }
}

// A layer computing a loss: something no ONNX graph for inference should contain.
struct MseHead : nn::Layer {
  std::string name() const override { return "MseHead"; }
  Variable forward(const Variable& x) override { return mse_loss(x, x * 2.0f); }
};

TEST_CASE("lower: an op with no ONNX form is an error naming it and the module path") {
  Net model;
  auto fc = model.register_module("fc", nn::Linear(4, 3));
  auto head = model.register_module("head", std::make_shared<MseHead>());
  model.f = [fc, head](Net&, const Variable& x) { return (*head)(fc(x)); };
  const auto path = test::temp_dir("onnx_unsupported") / "bad.onnx";
  CHECK_THROWS_WITH_AS(onnx::export_model(model, test::uniform({2, 4}, -1.0f, 1.0f, 1), path),
                       doctest::Contains("mse_loss in module Net.head (MseHead) has no ONNX form"),
                       Error);
  CHECK(!std::filesystem::exists(path));
}

}  // namespace tg
