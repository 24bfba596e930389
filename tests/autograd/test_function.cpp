// Custom autograd functions in LibTorch's form, after LibTorch's autograd tutorial (its third
// part): LinearFunction and MulConstant, and a backward that is itself differentiable.
#include <vector>

#include "test_util.hpp"

using namespace tg;
using namespace tg::autograd;
using tg::test::away_from_zero;
using tg::test::check_close;
using tg::test::make;

namespace {

// The tutorial's LinearFunction, with tapegrad's free functions for the tensor methods.
class LinearFunction : public Function<LinearFunction> {
 public:
  static Variable forward(AutogradContext* ctx, Variable input, Variable weight, Variable bias = Variable()) {
    ctx->save_for_backward({input, weight, bias});
    Variable output = matmul(input, transpose(weight, 0, 1));
    if (bias.defined()) output = output + bias;
    return output;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    auto input = saved[0], weight = saved[1], bias = saved[2];
    auto grad_output = grad_outputs[0];
    auto grad_input = matmul(grad_output, weight);
    auto grad_weight = matmul(transpose(grad_output, 0, 1), input);
    Variable grad_bias;
    if (bias.defined()) grad_bias = sum(grad_output, 0);
    return {grad_input, grad_weight, grad_bias};
  }
};

class MulConstant : public Function<MulConstant> {
 public:
  static Variable forward(AutogradContext* ctx, Variable variable, double constant) {
    ctx->saved_data["constant"] = constant;
    return variable * float(constant);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    return {grad_outputs[0] * float(ctx->saved_data["constant"].toDouble()), Variable()};
  }
};

// A function whose backward reads its saved output: exp, d/dx e^x = e^x.
class Exp : public Function<Exp> {
 public:
  static Variable forward(AutogradContext* ctx, Variable x) {
    Variable y = exp(x);
    ctx->save_for_backward({y});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    return {grad_outputs[0] * ctx->get_saved_variables()[0]};
  }
};

// A backward of the wrong shape.
class Broken : public Function<Broken> {
 public:
  static Variable forward(AutogradContext*, Variable x) { return x * 2.0f; }
  static variable_list backward(AutogradContext*, variable_list) { return {Variable(make({1}, {1}))}; }
};

}  // namespace

TEST_CASE("LibTorch's tutorial: LinearFunction gives linear()'s gradients") {
  Variable x(away_from_zero({2, 3}, 0.1f, 1.0f, 1), true), w(away_from_zero({4, 3}, 0.1f, 1.0f, 2), true);
  Variable b(away_from_zero({4}, 0.1f, 1.0f, 3), true);
  Variable y = LinearFunction::apply(x, w, b);
  CHECK(std::string(y.op_name()) == "(anonymous namespace)::LinearFunction");
  sum(y * y).backward();
  const Tensor gx = x.grad(), gw = w.grad(), gb = b.grad();
  for (Variable v : {x, w, b}) v.zero_grad();
  Variable ref = linear(x, w, b);
  check_close(y.value(), ref.value());
  sum(ref * ref).backward();
  check_close(gx, x.grad());
  check_close(gw, w.grad());
  check_close(gb, b.grad());
  // Without the bias (forward's default): backward's third gradient is undefined, as allowed.
  Variable y2 = LinearFunction::apply(x, w);
  CHECK(autograd::grad({sum(y2)}, {x, w}).size() == 2);
}

TEST_CASE("LibTorch's tutorial: MulConstant saves a number in saved_data") {
  Variable x(make({2, 2}, {1, 2, 3, 4}), true);
  Variable y = MulConstant::apply(x, 5.5);
  check_close(y.value(), make({2, 2}, {5.5f, 11, 16.5f, 22}));
  sum(y).backward();
  check_close(x.grad(), make({2, 2}, {5.5f, 5.5f, 5.5f, 5.5f}));
}

TEST_CASE("a custom function's backward written with Variable ops is differentiable") {
  Variable x(away_from_zero({3}, 0.2f, 1.0f, 4), true);
  // The saved output is the graph's: the second derivative of e^x is e^x.
  Variable g1 = autograd::grad({sum(Exp::apply(x))}, {x}, {}, {}, true)[0];
  Variable g2 = autograd::grad({sum(g1)}, {x})[0];
  check_close(g2.value(), exp(x).value(), 1e-6, 1e-5);
  std::function<Variable(const std::vector<Variable>&)> fn = [](const std::vector<Variable>& v) {
    return tanh(LinearFunction::apply(v[0], v[1], v[2]));
  };
  std::vector<Variable> in{Variable(away_from_zero({2, 3}, 0.2f, 1.0f, 5), true),
                           Variable(away_from_zero({4, 3}, 0.2f, 1.0f, 6), true),
                           Variable(away_from_zero({4}, 0.2f, 1.0f, 7), true)};
  const auto r = gradgradcheck(fn, in);
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("a custom function's mistakes are errors naming it") {
  Variable x(make({2}, {1, 2}), true);
  CHECK_THROWS_WITH_AS(sum(Broken::apply(x)).backward(), doctest::Contains("Broken::backward: expected the gradient"), Error);
  AutogradContext ctx;
  ctx.saved_data["k"] = 3;
  CHECK(ctx.saved_data["k"].toDouble() == 3.0);
  CHECK_THROWS_WITH_AS(ctx.saved_data["k"].toBool(), doctest::Contains("expected a bool"), Error);
}
