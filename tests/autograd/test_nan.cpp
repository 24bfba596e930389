// NaN in, NaN out, as PyTorch: one NaN element fed to every op must show up in the output where
// PyTorch's does (so a NaN pixel cannot hide behind a finite loss), and the fused ops must
// agree with the compositions they replace.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace tg;

namespace {

const float nan_v = std::numeric_limits<float>::quiet_NaN();

struct NanCase {
  const char* name;
  Shape shape;                                  // the input's shape; one middle element is NaN
  std::function<Variable(const Variable&)> fn;  // PyTorch's output has a NaN
};

Tensor with_nan(const Shape& shape) {
  Tensor t = tg::test::uniform(shape, 0.5f, 1.5f, 7);
  t.data()[t.size() / 2 + 1] = nan_v;  // not first: "keep the first maximum" loops skip it
  return t;
}

bool has_nan(const Tensor& t) {
  return std::any_of(t.begin(), t.end(), [](float v) { return std::isnan(v); });
}

Labels zeros_labels(std::size_t n) { return Labels(Labels::shape_type{n}, 0); }

const std::vector<NanCase>& nan_cases() {
  const Shape img{2, 2, 4, 4}, mat{2, 3};
  static const std::vector<NanCase> cases = {
      {"neg", mat, [](auto& x) { return -x; }},
      {"exp", mat, [](auto& x) { return exp(x); }},
      {"log", mat, [](auto& x) { return log(x); }},
      {"sqrt", mat, [](auto& x) { return sqrt(x); }},
      {"abs", mat, [](auto& x) { return abs(x); }},
      {"pow", mat, [](auto& x) { return pow(x, 3.0f); }},
      {"clamp", mat, [](auto& x) { return clamp(x, 0.0f, 1.0f); }},
      {"relu", mat, [](auto& x) { return relu(x); }},
      {"relu_of_temporary", mat, [](auto& x) { return relu(x * 1.0f); }},
      {"leaky_relu", mat, [](auto& x) { return leaky_relu(x); }},
      {"sigmoid", mat, [](auto& x) { return sigmoid(x); }},
      {"tanh", mat, [](auto& x) { return tanh(x); }},
      {"add", mat, [](auto& x) { return x + Variable(filled({3}, 1.0f)); }},
      {"add_relu", mat, [](auto& x) { return add_relu(x, Variable(filled({2, 3}, -5.0f))); }},
      {"relu_of_sum", mat, [](auto& x) { return relu(x + Variable(filled({2, 3}, -5.0f))); }},
      {"mul_by_zero", mat, [](auto& x) { return x * 0.0f; }},
      {"div", mat, [](auto& x) { return x / Variable(filled({2, 3}, 2.0f)); }},
      {"sum", mat, [](auto& x) { return sum(x); }},
      {"sum_dim", mat, [](auto& x) { return sum(x, 1); }},
      {"mean", mat, [](auto& x) { return mean(x); }},
      {"max", mat, [](auto& x) { return max(x); }},
      {"max_dim", mat, [](auto& x) { return max(x, 1); }},
      {"softmax", mat, [](auto& x) { return softmax(x, 1); }},
      {"log_softmax", mat, [](auto& x) { return log_softmax(x, 1); }},
      {"cross_entropy", mat, [](auto& x) { return cross_entropy(x, zeros_labels(2)); }},
      {"nll_loss", mat, [](auto& x) { return nll_loss(x, Labels(Labels::shape_type{2}, 1)); }},
      {"mse_loss", mat, [](auto& x) { return mse_loss(x, Variable(filled({2, 3}, 0.0f))); }},
      {"bce_with_logits", mat,
       [](auto& x) { return binary_cross_entropy_with_logits(x, Variable(filled({2, 3}, 1.0f))); }},
      {"matmul", mat, [](auto& x) { return matmul(x, Variable(filled({3, 2}, 0.0f))); }},
      {"linear", mat, [](auto& x) { return linear(x, Variable(filled({4, 3}, 0.5f))); }},
      {"conv2d", img, [](auto& x) { return conv2d(x, Variable(filled({3, 2, 3, 3}, 0.1f)), Variable(), {.padding = 1}); }},
      {"conv2d_16_channels", {2, 16, 6, 6},
       [](auto& x) { return conv2d(x, Variable(filled({16, 16, 3, 3}, 0.1f)), Variable(), {.padding = 1}); }},
      {"max_pool2d", img, [](auto& x) { return max_pool2d(x, 2); }},
      {"min_pool2d", img, [](auto& x) { return min_pool2d(x, 2); }},
      {"avg_pool2d", img, [](auto& x) { return avg_pool2d(x, 2); }},
      {"adaptive_avg_pool2d", img, [](auto& x) { return adaptive_avg_pool2d(x, {1, 1}); }},
      {"batch_norm", img, [](auto& x) { return batch_norm(x, nullptr, nullptr, Variable(), Variable(), true); }},
      {"batch_norm_relu", img,
       [](auto& x) { return batch_norm_relu(x, nullptr, nullptr, Variable(), Variable(), true); }},
      {"relu_of_batch_norm", img,
       [](auto& x) { return relu(batch_norm(x, nullptr, nullptr, Variable(), Variable(), true)); }},
      {"dropout_eval", mat, [](auto& x) { return dropout(x, 0.5f, false); }},
      {"flatten", img, [](auto& x) { return x.flatten(1); }},
      {"transpose", mat, [](auto& x) { return x.transpose(0, 1); }},
      {"cat", mat, [](auto& x) { return cat({x, x}, 1); }},
  };
  return cases;
}

}  // namespace

TEST_CASE("every op gives NaN out for NaN in where PyTorch does") {
  for (const auto& c : nan_cases()) {
    CAPTURE(c.name);
    for (const bool requires_grad : {true, false}) {
      Variable y = c.fn(Variable(with_nan(c.shape), requires_grad));
      CHECK(has_nan(y.value()));
    }
  }
}

TEST_CASE("a NaN input reaches the loss and the gradients, fused or unfused") {
  // A NaN pixel through conv -> BN -> ReLU -> pool -> linear -> cross_entropy: the loss is NaN.
  Variable x(with_nan({2, 2, 4, 4}), true);
  Variable w(filled({4, 2, 3, 3}, 0.1f), true), fc(filled({3, 4}, 0.1f), true);
  Variable h = relu(batch_norm(conv2d(x, w, Variable(), {.padding = 1}), nullptr, nullptr, Variable(),
                               Variable(), true));
  Variable loss = cross_entropy(linear(adaptive_avg_pool2d(h, {1, 1}).flatten(1), fc), zeros_labels(2));
  CHECK(std::isnan(loss.item()));
  loss.backward();
  CHECK(has_nan(w.grad()));
}
