// Anomaly mode: non-finite forward results and backward gradients become errors naming the op.
#include "test_util.hpp"

using namespace tg;
using autograd::DetectAnomalyGuard;
using doctest::Contains;

TEST_CASE("off, a NaN passes silently; on, the op that made it is named with its input shapes") {
  Variable x(test::vec({1.0f, -1.0f, 2.0f}), true);
  CHECK(std::isnan(log(x).value()(1)));
  CHECK_FALSE(autograd::anomaly_enabled());
  DetectAnomalyGuard guard;
  CHECK(autograd::anomaly_enabled());
  CHECK_THROWS_WITH_AS(log(x), Contains("anomaly detected: log returned 1 of 3 values non-finite"),
                       Error);
  CHECK_THROWS_WITH_AS(log(x), Contains("inputs of shapes [3]"), Error);
  CHECK_THROWS_WITH_AS(log(x), Contains("its inputs are finite: this op made the NaN"), Error);
  CHECK_THROWS_WITH_AS(log(x), Contains("outside any module"), Error);
  CHECK(log(abs(x) + 1.0f).value()(0) == doctest::Approx(std::log(2.0f)));  // finite passes
}

TEST_CASE("a NaN that came in is reported where it first meets an op, as coming from before") {
  Variable x(test::vec({1.0f, NAN}));  // no grad needed: checked all the same
  DetectAnomalyGuard guard;
  CHECK_THROWS_WITH_AS(mul(x, 2.0f), Contains("input 0 already holds 1 of 2 values non-finite"),
                       Error);
}

TEST_CASE("an infinite gradient is reported by the backward of the op that made it") {
  DetectAnomalyGuard guard;
  Variable x(test::vec({0.0f, 4.0f}), true);
  Variable y = sum(sqrt(x));  // finite forward; d sqrt(x)/dx = inf at 0
  CHECK(y.item() == 2.0f);
  CHECK_THROWS_WITH_AS(y.backward({.retain_graph = true}),
                       Contains("the backward of sqrt returned 1 of 2 values non-finite"), Error);
  CHECK_THROWS_WITH_AS(y.backward(),
                       Contains("in the gradient of input 0 (shape [2]), for inputs of shapes [2]"),
                       Error);
}

TEST_CASE("a guard around backward alone still checks the gradients") {
  Variable x(test::vec({0.0f, 4.0f}), true);
  Variable y = sum(sqrt(x));
  {
    DetectAnomalyGuard guard;
    CHECK_THROWS_WITH_AS(y.backward({.retain_graph = true}),
                         Contains("the backward of sqrt returned 1 of 2"), Error);
    CHECK_THROWS_WITH_AS(y.backward({.retain_graph = true}), Contains("module not recorded"), Error);
  }
  y.backward();  // off again: the inf reaches the gradient silently
  CHECK(std::isinf(x.grad()(0)));
}

TEST_CASE("guards nest and restore the previous mode") {
  {
    DetectAnomalyGuard on;
    {
      DetectAnomalyGuard off(false);
      CHECK_FALSE(autograd::anomaly_enabled());
    }
    CHECK(autograd::anomaly_enabled());
  }
  CHECK_FALSE(autograd::anomaly_enabled());
}
