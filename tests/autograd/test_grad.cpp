// autograd::grad, create_graph and gradgradcheck: gradients returned, and differentiated again.
#include <functional>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace tg;
using tg::test::away_from_zero;
using tg::test::check_close;
using tg::test::make;
using tg::test::uniform;

namespace {

using Fn = std::function<Variable(const std::vector<Variable>&)>;

struct GradGradCase {
  std::string name;
  Fn fn;
  std::vector<Shape> shapes;
  float lo = 0.5f, hi = 1.5f;  // inputs from +-[lo, hi), or [lo, hi) when positive
  bool positive = false;
};

// Each op of the double-backward coverage list, alone or with what it needs around it; the
// tanh keeps second derivatives non-zero where the op itself is linear.
std::vector<GradGradCase> cases() {
  auto in = [](const std::vector<Variable>& v, std::size_t i) { return v[i]; };
  return {
      {"add (broadcast)", [=](auto v) { return tanh(in(v, 0) + in(v, 1)); }, {{2, 3}, {3}}},
      {"sub (broadcast)", [=](auto v) { return tanh(in(v, 0) - in(v, 1)); }, {{2, 3}, {2, 1}}},
      {"mul (broadcast)", [=](auto v) { return in(v, 0) * in(v, 1); }, {{2, 3}, {3}}},
      {"div (broadcast)", [=](auto v) { return in(v, 0) / in(v, 1); }, {{2, 3}, {3}}, 0.5f, 1.5f, true},
      {"pow (tensor exponent)", [=](auto v) { return pow(in(v, 0), in(v, 1)); }, {{2, 3}, {3}}, 0.5f, 1.5f, true},
      {"pow (scalar 3)", [=](auto v) { return pow(in(v, 0), 3.0f); }, {{2, 3}}},
      {"pow (scalar 2)", [=](auto v) { return pow(in(v, 0), 2.0f) * in(v, 0); }, {{2, 3}}},
      {"add/mul scalar, neg, rdiv", [=](auto v) { return 2.0f / (-(in(v, 0) * 3.0f) + 7.0f); }, {{4}}},
      {"exp", [=](auto v) { return exp(in(v, 0)); }, {{2, 3}}},
      {"log", [=](auto v) { return log(in(v, 0)); }, {{2, 3}}, 0.5f, 1.5f, true},
      {"sqrt", [=](auto v) { return sqrt(in(v, 0)); }, {{2, 3}}, 0.5f, 1.5f, true},
      {"abs", [=](auto v) { return abs(in(v, 0)) * in(v, 0); }, {{2, 3}}},
      {"tanh", [=](auto v) { return tanh(in(v, 0)); }, {{2, 3}}},
      {"sigmoid", [=](auto v) { return sigmoid(in(v, 0)); }, {{2, 3}}},
      {"relu", [=](auto v) { return relu(in(v, 0)) * in(v, 0); }, {{2, 3}}},
      {"leaky_relu", [=](auto v) { return leaky_relu(in(v, 0), 0.2f) * in(v, 0); }, {{2, 3}}},
      {"clamp", [=](auto v) { return clamp(in(v, 0), -1.0f, 1.0f) * in(v, 0); }, {{2, 3}}},
      {"add_relu", [=](auto v) { return add_relu(in(v, 0), in(v, 1)) * in(v, 0); }, {{2, 3}, {2, 3}}},
      {"relu fused into add", [=](auto v) { return relu(in(v, 0) + in(v, 1)) * in(v, 1); }, {{2, 3}, {2, 3}}},
      {"sum", [=](auto v) { return tanh(sum(in(v, 0))); }, {{2, 3}}},
      {"sum along a dim", [=](auto v) { return tanh(sum(in(v, 0), 1, true)); }, {{2, 3}}},
      {"mean", [=](auto v) { return tanh(mean(in(v, 0))); }, {{2, 3}}},
      {"mean along a dim", [=](auto v) { return tanh(mean(in(v, 0), 0)); }, {{2, 3}}},
      {"view / reshape", [=](auto v) { return tanh(in(v, 0).view({3, 2})); }, {{2, 3}}},
      {"flatten", [=](auto v) { return tanh(flatten(in(v, 0))); }, {{2, 3, 2}}},
      {"transpose", [=](auto v) { return tanh(in(v, 0).transpose(0, 1)) * in(v, 1); }, {{2, 3}, {3, 2}}},
      {"permute", [=](auto v) { return tanh(in(v, 0).permute({2, 0, 1})); }, {{2, 3, 2}}},
      {"slice", [=](auto v) { return tanh(slice(in(v, 0), 1, 0, 3, 2)); }, {{2, 4}}},
      {"narrow", [=](auto v) { return tanh(narrow(in(v, 0), 0, 1, 1)); }, {{3, 2}}},
      {"cat", [=](auto v) { return tanh(cat({in(v, 0), in(v, 1)}, 1)); }, {{2, 3}, {2, 1}}},
      {"broadcast_to", [=](auto v) { return tanh(broadcast_to(in(v, 0), {2, 3})); }, {{3}}},
      {"sum_to", [=](auto v) { return tanh(sum_to(in(v, 0), {3})); }, {{2, 3}}},
      {"matmul", [=](auto v) { return tanh(matmul(in(v, 0), in(v, 1))); }, {{2, 3}, {3, 2}}},
      {"matmul (batched, broadcast)", [=](auto v) { return tanh(matmul(in(v, 0), in(v, 1))); },
       {{2, 2, 3}, {3, 2}}},
      {"matmul (vector)", [=](auto v) { return tanh(matmul(in(v, 0), in(v, 1))); }, {{3}, {3, 2}}},
      {"linear", [=](auto v) { return tanh(linear(in(v, 0), in(v, 1), in(v, 2))); }, {{2, 3}, {4, 3}, {4}}},
      {"softmax", [=](auto v) { return softmax(in(v, 0), 1) * in(v, 0); }, {{2, 3}}},
      {"log_softmax", [=](auto v) { return log_softmax(in(v, 0), 0) * in(v, 0); }, {{2, 3}}},
      {"mse_loss (mean)", [=](auto v) { return mse_loss(in(v, 0) * in(v, 0), in(v, 1)); }, {{2, 3}, {2, 3}}},
      {"mse_loss (none)", [=](auto v) { return mse_loss(tanh(in(v, 0)), in(v, 1), Reduction::None); },
       {{2, 3}, {2, 3}}},
      {"conv2d", [=](auto v) { return tanh(conv2d(in(v, 0), in(v, 1), in(v, 2), {.padding = 1})); },
       {{1, 2, 4, 4}, {3, 2, 3, 3}, {3}}},
      {"conv2d (stride 2, groups 2, dilation 2)",
       [=](auto v) { return tanh(conv2d(in(v, 0), in(v, 1), Variable(), {.stride = 2, .padding = 2, .dilation = 2, .groups = 2})); },
       {{2, 2, 5, 5}, {4, 1, 3, 3}}},
      {"max_pool2d", [=](auto v) { return max_pool2d(in(v, 0), 2, 2) * max_pool2d(in(v, 0), 2, 2); }, {{1, 2, 4, 4}}},
      {"avg_pool2d", [=](auto v) { return tanh(avg_pool2d(in(v, 0), 3, 2, 1)); }, {{1, 2, 5, 5}}},
      {"adaptive_avg_pool2d", [=](auto v) { return tanh(adaptive_avg_pool2d(in(v, 0), {2, 3})); }, {{2, 1, 5, 4}}},
      {"batch_norm (training, 4-D)",
       [=](auto v) { return tanh(batch_norm(in(v, 0), nullptr, nullptr, in(v, 1), in(v, 2), true, 0.1f, 1e-5f)); },
       {{3, 2, 2, 2}, {2}, {2}}},
      {"batch_norm (training, 2-D, no affine)",
       [=](auto v) { return tanh(batch_norm(in(v, 0), nullptr, nullptr, Variable(), Variable(), true, 0.1f, 1e-5f)); },
       {{4, 3}}},
      {"batch_norm (eval)",
       [=](auto v) {
         static Tensor rm = make({2}, {0.1f, -0.2f}), rv = make({2}, {0.5f, 2.0f});
         return tanh(batch_norm(in(v, 0), &rm, &rv, in(v, 1), in(v, 2), false, 0.1f, 1e-5f)) * in(v, 0);
       },
       {{2, 2, 2, 2}, {2}, {2}}},
      {"batch_norm_relu (training)",
       [=](auto v) { return batch_norm_relu(in(v, 0), nullptr, nullptr, in(v, 1), in(v, 2), true, 0.1f, 1e-5f) * in(v, 0); },
       {{3, 2, 2, 2}, {2}, {2}}},
      {"relu fused into batch_norm",
       [=](auto v) { return relu(batch_norm(in(v, 0), nullptr, nullptr, in(v, 1), in(v, 2), true, 0.1f, 1e-5f)) * in(v, 0); },
       {{3, 2, 2, 2}, {2}, {2}}},
      {"dropout (a fixed mask per call)", [=](auto v) { manual_seed(5); return dropout(in(v, 0), 0.3f, true) * in(v, 0); },
       {{2, 3}}},
      {"cross_entropy (labels, mean)",
       [=](auto v) { return cross_entropy(in(v, 0) * in(v, 0), Labels{2, 0}); }, {{2, 3}}},
      {"cross_entropy (labels, smoothing, none)",
       [=](auto v) { return cross_entropy(tanh(in(v, 0)) * 3.0f, Labels{1, 2}, {.reduction = Reduction::None, .label_smoothing = 0.2f}); },
       {{2, 3}}},
      {"cross_entropy (probabilities, sum)",
       [=](auto v) { return cross_entropy(in(v, 0) * in(v, 1), softmax(in(v, 1), 1), {.reduction = Reduction::Sum, .label_smoothing = 0.1f}); },
       {{2, 3}, {2, 3}}},
      {"log_softmax + nll_loss", [=](auto v) { return nll_loss(log_softmax(in(v, 0) * in(v, 0), 1), Labels{1, 0}); }, {{2, 3}}},
      {"linear (no bias)", [=](auto v) { return tanh(linear(in(v, 0), in(v, 1), Variable())); },
       {{2, 3}, {4, 3}}},
      {"norm (2)", [=](auto v) { return tanh(norm(in(v, 0))) * in(v, 0); }, {{2, 3}}},
      {"norm (3, along a dim)", [=](auto v) { return norm(in(v, 0), 3.0f, 1, true) * in(v, 0); }, {{2, 3}}},
      {"norm (1, along a dim)", [=](auto v) { return norm(in(v, 0), 1.0f, 0) * in(v, 1); }, {{2, 3}, {3}}}
  };
}

}  // namespace

TEST_CASE("autograd::grad returns the gradients and leaves .grad alone") {
  Variable x(make({3}, {1, 2, 3}), true), w(make({3}, {4, 5, 6}), true);
  Variable y = sum(x * x * w);
  auto g = autograd::grad({y}, {x, w});
  REQUIRE(g.size() == 2);
  check_close(g[0].value(), make({3}, {8, 20, 36}));  // 2 x w
  check_close(g[1].value(), make({3}, {1, 4, 9}));    // x^2
  CHECK_FALSE(x.has_grad());
  CHECK_FALSE(w.has_grad());
  CHECK_FALSE(g[0].requires_grad());  // no create_graph: plain values
  // The graph was freed (retain_graph defaults to create_graph = false): a second pass is an
  // error, not a silent "unused input".
  CHECK_THROWS_WITH_AS(autograd::grad({y}, {x}), doctest::Contains("already freed"), Error);
  CHECK_THROWS_WITH_AS(autograd::grad({y}, {x}, {}, {}, true), doctest::Contains("already freed"), Error);
}

TEST_CASE("autograd::grad: grad_outputs, several outputs, the same input twice, an intermediate") {
  Variable x(make({2}, {1, 2}), true);
  Variable h = x * 3.0f;
  Variable a = h * h, b = exp(x);
  auto g = autograd::grad({a, b}, {x, h, x}, {Variable(make({2}, {1, 0.5f})), Variable(make({2}, {2, 0}))},
                          true);
  check_close(g[0].value(), make({2}, {18 * 1 + 2 * std::exp(1.0f), 36 * 0.5f}));  // 18x w + e^x w
  check_close(g[1].value(), make({2}, {6, 6}));                                     // 2h w
  check_close(g[2].value(), g[0].value());
  // retain_graph kept it: a second call works.
  auto again = autograd::grad({a}, {x}, {Variable(make({2}, {1, 1}))});
  check_close(again[0].value(), make({2}, {18, 36}));
}

TEST_CASE("autograd::grad: bad arguments are errors naming what to do") {
  Variable x(make({2}, {1, 2}), true), unused(make({2}, {1, 2}), true), plain(make({2}, {1, 2}));
  Variable y = x * x;
  CHECK_THROWS_WITH_AS(autograd::grad({y}, {x}, {}, true), doctest::Contains("pass grad_outputs"), Error);
  CHECK_THROWS_WITH_AS(autograd::grad({sum(y)}, {x, unused}, {}, true),
                       doctest::Contains("input 1 (shape [2]) was not used"), Error);
  auto g = autograd::grad({sum(y)}, {x, unused}, {}, true, false, true);
  CHECK(g[0].defined());
  CHECK_FALSE(g[1].defined());
  CHECK_THROWS_WITH_AS(autograd::grad({sum(y)}, {plain}, {}, true), doctest::Contains("require grad"), Error);
  CHECK_THROWS_WITH_AS(autograd::grad({plain}, {x}), doctest::Contains("require grad"), Error);
  CHECK_THROWS_WITH_AS(autograd::grad({y}, {x}, {Variable(make({3}, {1, 1, 1}))}, true),
                       doctest::Contains("grad_outputs[0] of shape [2]"), Error);
}

TEST_CASE("create_graph: second and third derivatives of x^3, and d/dx of a gradient norm") {
  Variable x(make({3}, {-1, 0.5f, 2}), true);
  Variable y = sum(pow(x, 3.0f));
  Variable g1 = autograd::grad({y}, {x}, {}, {}, true)[0];  // 3x^2
  check_close(g1.value(), make({3}, {3, 0.75f, 12}));
  CHECK(g1.requires_grad());
  Variable g2 = autograd::grad({sum(g1)}, {x}, {}, {}, true)[0];  // 6x
  check_close(g2.value(), make({3}, {-6, 3, 12}));
  Variable g3 = autograd::grad({sum(g2)}, {x})[0];  // 6
  check_close(g3.value(), make({3}, {6, 6, 6}));
  // A gradient penalty's gradient: d/dx (|3x^2|^2) = 36 x^3... summed: d/dx sum(9x^4) = 36x^3.
  Variable penalty = sum(g1 * g1);
  penalty.backward();
  check_close(x.grad(), make({3}, {-36, 36 * 0.125f, 288}), 1e-4, 1e-5);
}

TEST_CASE("backward with create_graph: grad_variable() differentiates again") {
  Variable x(make({2}, {1, 2}), true);
  sum(pow(x, 3.0f)).backward({.create_graph = true});
  check_close(x.grad(), make({2}, {3, 12}));
  Variable gx = x.grad_variable();
  CHECK(gx.requires_grad());
  Variable hx = autograd::grad({sum(gx)}, {x}, {}, true)[0];  // retained: x's gradient graph stays
  check_close(hx.value(), make({2}, {6, 12}));
  // A second create_graph backward accumulates, graph included.
  sum(x * x).backward({.create_graph = true});
  check_close(x.grad(), make({2}, {5, 16}));
  check_close(autograd::grad({sum(x.grad_variable())}, {x})[0].value(), make({2}, {8, 14}));
  x.zero_grad();  // the gradient's graph holds x: dropping it breaks the cycle (as in PyTorch)
  CHECK_FALSE(x.has_grad());
}

TEST_CASE("create_graph through an op without a double-backward rule is an error naming it") {
  auto no_rule = [](const Variable& x) {
    return record_op("my_op", x.value() * 2.0f, {x}, [](Tensor g, const BackwardCtx&) -> TensorList {
      return grad_list(Tensor(g * 2.0f));
    });
  };
  Variable x(uniform({3}, -1, 1, 3), true);
  CHECK_THROWS_WITH_AS(autograd::grad({sum(no_rule(x))}, {x}, {}, {}, true),
                       doctest::Contains("my_op, whose double backward is not implemented"), Error);
  // Without create_graph the same gradient is fine.
  check_close(autograd::grad({sum(no_rule(x))}, {x})[0].value(), make({3}, {2, 2, 2}));
}

TEST_CASE("gradgradcheck: every op of the double-backward coverage list") {
  std::uint64_t seed = 100;
  for (const auto& c : cases()) {
    CAPTURE(c.name);
    std::vector<Variable> inputs;
    for (const Shape& s : c.shapes)
      inputs.emplace_back(c.positive ? uniform(s, c.lo, c.hi, seed++) : away_from_zero(s, c.lo, c.hi, seed++),
                          true);
    const auto first = gradcheck(c.fn, inputs);
    CHECK_MESSAGE(first.ok, first.message);
    const auto second = gradgradcheck(c.fn, inputs);
    CHECK_MESSAGE(second.ok, second.message);
  }
}

TEST_CASE("gradgradcheck catches a wrong double-backward rule") {
  // An op whose first-order rule is right but whose graph rule drops a factor 2.
  auto square = [](const Variable& x) {
    Variable y = record_op("bad_square", x.value() * x.value(), {x},
                           [](Tensor g, const BackwardCtx& ctx) -> TensorList {
                             return grad_list(Tensor(g * ctx.input(0) * 2.0f));
                           });
    return with_double_backward(y, [](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
      return {g * ctx.input(0)};
    });
  };
  Variable x(away_from_zero({3}, 0.5f, 1.5f, 7), true);
  Fn fn = [&](const std::vector<Variable>& v) { return square(v[0]); };
  CHECK(gradcheck(fn, {x}).ok);
  CHECK_FALSE(gradgradcheck(fn, {x}).ok);
}
