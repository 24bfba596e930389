// Higher-order gradients against PyTorch 1.13 (golden/make_grad_golden.py writes the numbers):
// third derivatives of tanh(X @ W), LibTorch's autograd tutorial's gradient penalty on a
// Linear layer, and a Hessian-vector product of a small MLP.
#include <cmath>
#include <functional>
#include <vector>

#include "test_util.hpp"

#include "golden/grad_golden.inc"

using namespace tg;
using tg::test::check_close;

namespace {

// The script's closed-form inputs: scale * fn(1), scale * fn(2), ...
Tensor filled_with(const Shape& shape, const std::function<double(double)>& fn, double scale) {
  Tensor t = empty_tensor(shape);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = float(scale * fn(double(i + 1)));
  return t;
}
double sin_(double i) { return std::sin(i); }
double cos_(double i) { return std::cos(i); }

Tensor golden(const Shape& shape, const std::vector<float>& values) {
  Tensor t = empty_tensor(shape);
  REQUIRE(values.size() == t.size());
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

void check_golden(const Variable& v, const std::vector<float>& values) {
  check_close(v.value(), golden(v.shape(), values), 1e-6, 1e-4);
}

}  // namespace

TEST_CASE("third-order derivatives of tanh(X @ W) match PyTorch") {
  Variable X(filled_with({2, 3}, sin_, 0.5), true), W(filled_with({3, 2}, cos_, 0.3), true);
  const Variable V(filled_with({2, 3}, [](double i) { return i; }, 0.1));
  const Variable U(filled_with({2, 3}, [](double i) { return 1.0 / i; }, 1.0));
  Variable f = sum(tanh(matmul(X, W)));
  Variable g1 = autograd::grad({f}, {X}, {}, {}, true)[0];
  Variable g2 = autograd::grad({sum(g1 * V)}, {X}, {}, {}, true)[0];
  auto g3 = autograd::grad({sum(g2 * U)}, {X, W});
  check_golden(g1, tanh_matmul_g1);
  check_golden(g2, tanh_matmul_g2);
  check_golden(g3[0], tanh_matmul_g3_x);
  check_golden(g3[1], tanh_matmul_g3_w);
}

TEST_CASE("LibTorch's tutorial: a gradient penalty on a Linear layer matches PyTorch") {
  Variable weight(filled_with({3, 4}, sin_, 0.4), true), bias(filled_with({3}, cos_, 0.2), true);
  Variable input(filled_with({3, 4}, cos_, 0.7), true);
  const Variable target(filled_with({3, 3}, sin_, 1.0));
  Variable output = linear(input, weight, bias);
  Variable loss = mse_loss(output, target);
  Variable grad_output(filled(output.shape(), 1.0f));
  Variable gi = autograd::grad({output}, {input}, {grad_output}, {}, /*create_graph=*/true)[0];
  Variable penalty = pow(sqrt(sum(gi * gi)) - 1.0f, 2.0f);
  Variable combined = loss + penalty;
  combined.backward();
  CHECK(combined.item() == doctest::Approx(penalty_value[0]).epsilon(1e-5));
  check_golden(input.grad_variable(), penalty_input_grad);
  check_golden(weight.grad_variable(), penalty_weight_grad);
  check_golden(bias.grad_variable(), penalty_bias_grad);
}

TEST_CASE("a Hessian-vector product of an MLP's loss matches PyTorch") {
  Variable W1(filled_with({5, 4}, sin_, 0.5), true), b1(filled_with({5}, cos_, 0.1), true);
  Variable W2(filled_with({2, 5}, cos_, 0.5), true);
  const Variable x(filled_with({6, 4}, [](double i) { return std::sin(0.7 * i); }, 1.0));
  const Variable y(filled_with({6, 2}, [](double i) { return std::cos(0.3 * i); }, 1.0));
  const std::vector<Variable> params{W1, b1, W2};
  Variable loss = mse_loss(linear(tanh(linear(x, W1, b1)), W2, Variable()), y);
  CHECK(loss.item() == doctest::Approx(mlp_loss[0]).epsilon(1e-5));
  auto grads = autograd::grad({loss}, params, {}, {}, true);
  Variable dot = filled(Shape{}, 0.0f);
  for (std::size_t k = 0; k < params.size(); ++k)
    dot = dot + sum(grads[k] * Variable(filled_with(params[k].shape(), [](double i) { return std::sin(1.3 * i); }, 1.0)));
  auto hv = autograd::grad({dot}, params);
  check_golden(hv[0], mlp_hv_W1);
  check_golden(hv[1], mlp_hv_b1);
  check_golden(hv[2], mlp_hv_W2);
}

TEST_CASE("a conv critic's WGAN-GP gradient penalty and its parameter gradients match PyTorch") {
  Variable x(filled_with({4, 1, 8, 8}, [](double i) { return std::sin(0.37 * i); }, 1.0), true);
  Variable c1w(filled_with({4, 1, 3, 3}, cos_, 0.5), true), c1b(filled_with({4}, sin_, 0.1), true);
  Variable c2w(filled_with({8, 4, 3, 3}, [](double i) { return std::sin(0.5 * i); }, 0.3), true);
  Variable c2b(filled_with({8}, cos_, 0.1), true);
  Variable lw(filled_with({1, 32}, [](double i) { return std::cos(0.9 * i); }, 0.3), true);
  Variable lb(filled_with({1}, sin_, 0.1), true);
  Variable h = leaky_relu(conv2d(x, c1w, c1b, {.stride = 2, .padding = 1}), 0.2f);
  h = leaky_relu(conv2d(h, c2w, c2b, {.stride = 2, .padding = 1}), 0.2f);
  Variable critic = linear(flatten(h), lw, lb);
  Variable gx = autograd::grad({critic}, {x}, {Variable(filled(critic.shape(), 1.0f))}, {}, true)[0];
  Variable norms = sqrt(sum(flatten(gx) * flatten(gx), 1));
  Variable gp = mean(pow(norms - 1.0f, 2.0f));
  gp.backward();
  CHECK(gp.item() == doctest::Approx(critic_penalty[0]).epsilon(1e-4));
  // PyTorch leaves a parameter the penalty does not reach without a gradient: zeros here.
  auto grad_or_zero = [](const Variable& p) { return p.has_grad() ? p.grad_variable() : Variable(filled(p.shape(), 0.0f)); };
  check_golden(grad_or_zero(c1w), critic_grad_c1w);
  check_golden(grad_or_zero(c1b), critic_grad_c1b);
  check_golden(grad_or_zero(c2w), critic_grad_c2w);
  check_golden(grad_or_zero(c2b), critic_grad_c2b);
  check_golden(grad_or_zero(lw), critic_grad_lw);
  check_golden(grad_or_zero(lb), critic_grad_lb);
}

TEST_CASE("a Hessian-vector product of a CNN with batch norm matches PyTorch") {
  const Variable x(filled_with({3, 2, 5, 5}, [](double i) { return std::cos(0.23 * i); }, 1.0));
  const Variable y(filled_with({3, 4}, [](double i) { return std::sin(0.41 * i); }, 1.0));
  Variable cw(filled_with({3, 2, 3, 3}, [](double i) { return std::sin(0.7 * i); }, 0.3), true);
  Variable cb(filled_with({3}, cos_, 0.1), true);
  Variable bw(filled_with({3}, [](double i) { return 1 + 0.1 * std::sin(i); }, 1.0), true);
  Variable bb(filled_with({3}, cos_, 0.05), true);
  Variable fw(filled_with({4, 27}, [](double i) { return std::cos(0.31 * i); }, 0.2), true);
  Variable fb(filled_with({4}, sin_, 0.1), true);
  const std::vector<Variable> params{cw, cb, bw, bb, fw, fb};
  Variable h = conv2d(x, cw, cb, {.padding = 1});
  h = relu(batch_norm(h, nullptr, nullptr, bw, bb, true, 0.1f, 1e-5f));
  h = avg_pool2d(h, 2, 2, 1);
  Variable loss = mse_loss(linear(flatten(h), fw, fb), y);
  CHECK(loss.item() == doctest::Approx(cnn_loss[0]).epsilon(1e-5));
  auto grads = autograd::grad({loss}, params, {}, {}, true);
  Variable dot = filled(Shape{}, 0.0f);
  for (std::size_t k = 0; k < params.size(); ++k)
    dot = dot + sum(grads[k] * Variable(filled_with(params[k].shape(), [](double i) { return std::cos(1.7 * i); }, 1.0)));
  auto hv = autograd::grad({dot}, params);
  check_golden(hv[0], cnn_hv_cw);
  check_golden(hv[1], cnn_hv_cb);
  check_golden(hv[2], cnn_hv_bw);
  check_golden(hv[3], cnn_hv_bb);
  check_golden(hv[4], cnn_hv_fw);
  check_golden(hv[5], cnn_hv_fb);
}
