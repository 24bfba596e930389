// The tape and the backward engine: accumulation, retain_graph, detach, hooks, NoGradGuard,
// freeing, errors, and a chain deeper than any stack.
#include "test_util.hpp"

using namespace tg;
using tg::test::make;

TEST_CASE("a leaf keeps its value, shape and flags") {
  Variable x(make({2, 3}, {1, 2, 3, 4, 5, 6}), true);
  CHECK(x.shape() == Shape{2, 3});
  CHECK(x.dim() == 2);
  CHECK(x.numel() == 6);
  CHECK(x.requires_grad());
  CHECK(x.is_leaf());
  CHECK(std::string(x.op_name()) == "leaf");
  CHECK_FALSE(x.has_grad());
  CHECK_THROWS_WITH_AS(x.grad(), doctest::Contains("grad: expected a gradient, got none"), Error);
}

TEST_CASE("backward of y = x*x + 3x gives 2x + 3") {
  Variable x(make({3}, {1, -2, 0.5f}), true);
  Variable y = sum(x * x + 3.0f * x);
  CHECK(y.item() == doctest::Approx(1 + 3 + 4 - 6 + 0.25 + 1.5));
  y.backward();
  tg::test::check_close(x.grad(), make({3}, {5, -1, 4}));
}

TEST_CASE("gradients accumulate over backward calls until zero_grad") {
  Variable x(make({2}, {1, 2}), true);
  sum(x * 2.0f).backward();
  sum(x * 3.0f).backward();
  tg::test::check_close(x.grad(), make({2}, {5, 5}));
  x.zero_grad();
  CHECK_FALSE(x.has_grad());
  sum(x).backward();
  tg::test::check_close(x.grad(), make({2}, {1, 1}));
}

TEST_CASE("a variable used twice receives both contributions") {
  Variable x(make({1}, {3}), true);
  Variable y = x * x * x;  // 3x^2 = 27
  y.backward();
  CHECK(x.grad()(0) == doctest::Approx(27));
}

TEST_CASE("the graph is freed after backward unless retained") {
  Variable x(make({2}, {1, 2}), true);
  Variable y = sum(exp(x));
  y.backward();
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("retain_graph"), Error);

  Variable z = sum(exp(x));
  x.zero_grad();
  z.backward({.retain_graph = true});
  z.backward();
  tg::test::check_close(x.grad(), make({2}, {2 * std::exp(1.0f), 2 * std::exp(2.0f)}), 1e-4);
}

TEST_CASE("intermediate values are released once backward no longer needs them") {
  Variable x(make({4}, {1, 2, 3, 4}), true);
  std::weak_ptr<Node> middle;
  {
    Variable h = exp(x);
    middle = h.node();
    Variable y = sum(h * 2.0f);
    h = Variable();
    CHECK_FALSE(middle.expired());  // the graph holds it
    y.backward();
    CHECK(middle.expired());  // freed by the walk, although y is still alive
  }
}

TEST_CASE("detach cuts the graph") {
  Variable x(make({2}, {1, 2}), true);
  Variable d = (x * 2.0f).detach();
  CHECK(d.is_leaf());
  CHECK_FALSE(d.requires_grad());
  Variable y = sum(x * d);  // d is a constant: dy/dx = d = 2x
  y.backward();
  tg::test::check_close(x.grad(), make({2}, {2, 4}));
}

TEST_CASE("inputs that need no gradient are skipped") {
  Variable x(make({2}, {1, 2}), true);
  Variable c(make({2}, {5, 7}), false);
  sum(x * c).backward();
  tg::test::check_close(x.grad(), make({2}, {5, 7}));
  CHECK_FALSE(c.has_grad());
}

TEST_CASE("hooks observe and replace the gradient") {
  Variable x(make({2}, {1, 2}), true);
  Variable h = x * 3.0f;
  Tensor seen;
  h.register_hook([&](const Tensor& g) { seen = g; });
  h.register_hook([](const Tensor& g) -> Tensor { return g * 10.0f; });
  sum(h).backward();
  tg::test::check_close(seen, make({2}, {1, 1}));
  tg::test::check_close(x.grad(), make({2}, {30, 30}));
}

TEST_CASE("a hook on a leaf sees the gradient before it accumulates") {
  Variable x(make({1}, {1}), true);
  int calls = 0;
  x.register_hook([&](Tensor& g) {
    ++calls;
    g *= 2.0f;
  });
  sum(x * 4.0f).backward();
  CHECK(calls == 1);
  CHECK(x.grad()(0) == doctest::Approx(8));
}

TEST_CASE("retain_grad keeps a non-leaf's gradient") {
  Variable x(make({2}, {1, 2}), true);
  Variable h = x * 2.0f;
  h.retain_grad();
  sum(h * h).backward();
  tg::test::check_close(h.grad(), make({2}, {4, 8}));
}

TEST_CASE("NoGradGuard records nothing") {
  Variable x(make({2}, {1, 2}), true);
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    Variable y = x * 2.0f;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
  }
  CHECK(grad_enabled());
  CHECK((x * 2.0f).requires_grad());
}

TEST_CASE("backward with an explicit gradient") {
  Variable x(make({2, 2}, {1, 2, 3, 4}), true);
  Variable y = x * x;
  y.backward(make({2, 2}, {1, 0, 0, 2}));
  tg::test::check_close(x.grad(), make({2, 2}, {2, 0, 0, 16}));
}

TEST_CASE("backward(gy) lends gy to rules that only read it and never changes the caller's tensor") {
  const Tensor gy = make({1, 1, 2, 2}, {1, -2, 3, -4});
  const Tensor gy_before = gy;
  Variable x(make({1, 1, 2, 2}, {-1, 2, 3, -5}), true);
  relu(x).backward(gy);  // reads gy into a new buffer
  tg::test::check_close(x.grad(), make({1, 1, 2, 2}, {0, -2, 3, 0}), 0, 0);
  x.zero_grad();
  (x * 3.0f).backward(gy);  // takes gy: a rule that scales in place gets a copy
  tg::test::check_close(x.grad(), gy * 3.0f, 0, 0);
  Variable h = x * 2.0f;
  h.register_hook([](Tensor& g) { g *= 10.0f; });  // a hook on the root changes its copy
  x.zero_grad();
  h.backward(gy);
  tg::test::check_close(x.grad(), gy * 20.0f, 0, 0);
  Variable r = relu(x);
  r.retain_grad();  // the retained .grad is the root's own tensor
  r.backward(gy);
  r.grad() *= 0.0f;
  x.zero_grad();
  x.backward(gy);  // a leaf root accumulates a copy
  x.grad() *= 0.0f;
  tg::test::check_close(gy, gy_before, 0, 0);
}

TEST_CASE("bad uses of backward, item and set_requires_grad are clear errors") {
  Variable x(make({2, 2}, {1, 2, 3, 4}), true);
  Variable y = x * 2.0f;
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("backward: expected a one-element output"), Error);
  CHECK_THROWS_WITH_AS(y.backward(make({2}, {1, 1})),
                       doctest::Contains("expected grad_output of shape [2, 2], got [2]"), Error);
  CHECK_THROWS_WITH_AS(x.item(), doctest::Contains("item: expected a one-element tensor, got shape [2, 2]"),
                       Error);
  CHECK_THROWS_WITH_AS(y.set_requires_grad(false), doctest::Contains("expected a leaf"), Error);
  Variable c(make({1}, {1}));
  CHECK_THROWS_WITH_AS(c.backward(), doctest::Contains("requires grad"), Error);
  CHECK_THROWS_WITH_AS(Variable().value(), doctest::Contains("undefined"), Error);
}

TEST_CASE("a backward rule returning a wrong shape is named by the engine") {
  Variable x(make({3}, {1, 2, 3}), true);
  Variable y = record_op("broken", x.value(), {x}, [](Tensor, const BackwardCtx&) -> TensorList {
    return {filled(Shape{2}, 1.0f)};
  });
  CHECK_THROWS_WITH_AS(y.backward(filled(Shape{3}, 1.0f)),
                       doctest::Contains("backward of broken: expected the gradient of input 0 "
                                         "to have its shape [3], got [2]"),
                       Error);
  // The failed walk leaves nothing behind: a fresh graph works.
  sum(x).backward();
  tg::test::check_close(x.grad(), make({3}, {1, 1, 1}));
}

TEST_CASE("a chain of 100,000 ops neither overflows the stack forward, backward nor when freed") {
  Variable x(make({1}, {1}), true);
  Variable y = x;
  for (int i = 0; i < 100000; ++i) y = y + 1e-5f;
  y.backward(make({1}, {1}));
  CHECK(x.grad()(0) == doctest::Approx(1));
  CHECK(y.item() == doctest::Approx(2.0).epsilon(1e-3));

  Variable z = x;
  for (int i = 0; i < 100000; ++i) z = z * 1.0f;
  z = Variable();  // destroying the never-walked chain must not recurse either
  CHECK(x.numel() == 1);
}
