// Elementwise ops. Each case is described once, as data: the forward check against hand-worked
// values and the finite-difference gradient check (on random, broadcast shapes) both read it.
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "test_util.hpp"

using namespace tg;
using tg::test::make;

namespace {

using Fn = std::function<Variable(const std::vector<Variable>&)>;

struct UnaryCase {
  const char* name;
  Fn fn;
  std::vector<float> in, out;  // hand-worked forward values
  std::vector<float> grad;     // d sum(f(x)) / dx at `in`
  float lo, hi;                // gradcheck inputs drawn from +-[lo, hi) (or [lo, hi) if positive_only)
  bool positive_only;
};

const std::vector<UnaryCase>& unary_cases() {
  static const std::vector<UnaryCase> cases = {
      {"neg", [](auto& v) { return -v[0]; }, {1, -2}, {-1, 2}, {-1, -1}, 0.1f, 2, false},
      {"exp", [](auto& v) { return exp(v[0]); }, {0, 1}, {1, 2.7182817f}, {1, 2.7182817f}, 0.1f, 2, false},
      {"log", [](auto& v) { return log(v[0]); }, {1, 4}, {0, 1.3862944f}, {1, 0.25f}, 0.5f, 3, true},
      {"sqrt", [](auto& v) { return sqrt(v[0]); }, {4, 9}, {2, 3}, {0.25f, 1.0f / 6}, 0.5f, 3, true},
      {"pow3", [](auto& v) { return pow(v[0], 3.0f); }, {2, -1}, {8, -1}, {12, 3}, 0.2f, 2, false},
      {"pow2", [](auto& v) { return pow(v[0], 2.0f); }, {3, -1}, {9, 1}, {6, -2}, 0.2f, 2, false},
      {"pow_half", [](auto& v) { return pow(v[0], 0.5f); }, {4, 16}, {2, 4}, {0.25f, 0.125f}, 0.5f, 3, true},
      {"abs", [](auto& v) { return abs(v[0]); }, {-3, 2}, {3, 2}, {-1, 1}, 0.1f, 2, false},
      {"clamp", [](auto& v) { return clamp(v[0], -1.0f, 0.5f); }, {-2, 0.2f, 3}, {-1, 0.2f, 0.5f}, {0, 1, 0},
       0.1f, 2, false},
      {"relu", [](auto& v) { return relu(v[0]); }, {-1, 2}, {0, 2}, {0, 1}, 0.1f, 2, false},
      {"leaky_relu", [](auto& v) { return leaky_relu(v[0], 0.1f); }, {-2, 3}, {-0.2f, 3}, {0.1f, 1}, 0.1f, 2, false},
      {"sigmoid", [](auto& v) { return sigmoid(v[0]); }, {0, 100, -100}, {0.5f, 1, 0}, {0.25f, 0, 0}, 0.1f, 3, false},
      {"tanh", [](auto& v) { return tanh(v[0]); }, {0, 0.5f}, {0, 0.46211716f}, {1, 0.78644773f}, 0.1f, 2, false},
      {"add_scalar", [](auto& v) { return 2.0f + v[0] - 0.5f; }, {1, 2}, {2.5f, 3.5f}, {1, 1}, 0.1f, 2, false},
      {"mul_scalar", [](auto& v) { return v[0] * 3.0f / 2.0f; }, {1, 2}, {1.5f, 3}, {1.5f, 1.5f}, 0.1f, 2, false},
      {"rdiv", [](auto& v) { return 2.0f / v[0]; }, {1, 4}, {2, 0.5f}, {-2, -0.125f}, 0.5f, 2, false},
      {"rsub", [](auto& v) { return 1.0f - v[0]; }, {1, 4}, {0, -3}, {-1, -1}, 0.1f, 2, false},
  };
  return cases;
}

struct BinaryCase {
  const char* name;
  Fn fn;
  bool positive_only;
};

const std::vector<BinaryCase>& binary_cases() {
  static const std::vector<BinaryCase> cases = {
      {"add", [](auto& v) { return v[0] + v[1]; }, false},
      {"sub", [](auto& v) { return v[0] - v[1]; }, false},
      {"mul", [](auto& v) { return v[0] * v[1]; }, false},
      {"div", [](auto& v) { return v[0] / v[1]; }, false},
      {"pow", [](auto& v) { return pow(v[0], v[1]); }, true},
  };
  return cases;
}

// Shape pairs that exercise every broadcasting path: equal, scalar either side, trailing,
// leading and middle dimensions of size 1, rank differences.
const std::vector<std::pair<Shape, Shape>> broadcast_pairs = {
    {{2, 3}, {2, 3}}, {{2, 3}, {}},        {{1}, {2, 3}},       {{2, 3}, {3}},
    {{4, 1}, {1, 3}}, {{2, 1, 3}, {4, 1}}, {{2, 4, 3}, {1, 4, 1}}, {{3}, {2, 1, 3}},
};

Tensor input_for(const Shape& shape, bool positive_only, float lo, float hi, std::uint64_t seed) {
  return positive_only ? tg::test::uniform(shape, lo, hi, seed)
                       : tg::test::away_from_zero(shape, lo, hi, seed);
}

}  // namespace

TEST_CASE("unary ops: forward values and backward against hand-worked numbers") {
  for (const auto& c : unary_cases()) {
    CAPTURE(c.name);
    Variable x(tg::test::vec(c.in), true);
    Variable y = c.fn({x});
    for (std::size_t i = 0; i < c.out.size(); ++i) CHECK(y.value()(i) == doctest::Approx(c.out[i]).epsilon(1e-5));
    sum(y).backward();
    for (std::size_t i = 0; i < c.grad.size(); ++i) CHECK(x.grad()(i) == doctest::Approx(c.grad[i]).epsilon(1e-5));
  }
}

TEST_CASE("unary ops: finite-difference gradcheck") {
  std::uint64_t seed = 1;
  for (const auto& c : unary_cases()) {
    CAPTURE(c.name);
    Variable x(input_for({3, 4}, c.positive_only, c.lo, c.hi, seed++), true);
    const auto r = gradcheck(c.fn, {x});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("binary ops: broadcast forward matches explicit loops") {
  Tensor a = make({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = make({4, 1}, {10, 20, 30, 40});
  Variable y = Variable(a) * Variable(b);
  REQUIRE(y.shape() == Shape{2, 4, 3});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 4; ++j)
      for (std::size_t k = 0; k < 3; ++k) CHECK(y.value()(i, j, k) == a(i, 0, k) * b(j, 0));
  Variable d = Variable(make({2}, {6, 8})) / Variable(make({}, {2}));
  tg::test::check_close(d.value(), make({2}, {3, 4}));
}

TEST_CASE("binary ops: backward sums the gradient over broadcast dimensions") {
  Variable a(make({2, 3}, {1, 2, 3, 4, 5, 6}), true);
  Variable b(make({3}, {10, 20, 30}), true);
  sum(a * b).backward();
  tg::test::check_close(a.grad(), make({2, 3}, {10, 20, 30, 10, 20, 30}));
  tg::test::check_close(b.grad(), make({3}, {5, 7, 9}));

  Variable p(make({2}, {2, 3}), true), q(make({2}, {3, 2}), true);
  sum(pow(p, q) + p / q - q).backward();
  // d/dp: q p^(q-1) + 1/q; d/dq: p^q ln p - p/q^2 - 1
  tg::test::check_close(p.grad(), make({2}, {3 * 4 + 1.0f / 3, 2 * 3 + 0.5f}), 1e-4);
  tg::test::check_close(q.grad(), make({2}, {8 * std::log(2.0f) - 2.0f / 9 - 1, 9 * std::log(3.0f) - 0.75f - 1}),
                        1e-4);
}

TEST_CASE("binary ops: gradcheck over broadcast shapes") {
  std::uint64_t seed = 100;
  for (const auto& c : binary_cases())
    for (const auto& [sa, sb] : broadcast_pairs) {
      CAPTURE(c.name);
      CAPTURE(shape_str(sa));
      CAPTURE(shape_str(sb));
      Variable a(input_for(sa, c.positive_only, 0.5f, 2.0f, seed++), true);
      Variable b(input_for(sb, c.positive_only, 0.5f, 2.0f, seed++), true);
      const auto r = gradcheck(c.fn, {a, b});
      CHECK_MESSAGE(r.ok, r.message);
    }
}

TEST_CASE("add_relu is relu(a + b) in one op: values, gradients, gradcheck, errors") {
  Variable a(make({4}, {1, -2, 3, -4}), true), b(make({4}, {0.5f, 1, -5, 2}), true);
  Variable y = add_relu(a, b);
  tg::test::check_close(y.value(), make({4}, {1.5f, 0, 0, 0}));
  sum(y * Variable(make({4}, {2, 3, 4, 5}))).backward();
  tg::test::check_close(a.grad(), make({4}, {2, 0, 0, 0}));
  tg::test::check_close(b.grad(), make({4}, {2, 0, 0, 0}));

  // Against the unfused composition on random values, and the finite-difference check with
  // a + b kept away from the kink (a's magnitude dominates b's).
  Variable p(tg::test::away_from_zero({3, 4}, 1, 2, 90), true), q(tg::test::uniform({3, 4}, -0.5f, 0.5f, 91), true);
  tg::test::check_close(add_relu(p, q).value(), relu(p + q).value());
  const auto r = gradcheck([](const std::vector<Variable>& v) { return add_relu(v[0], v[1]); }, {p, q});
  CHECK_MESSAGE(r.ok, r.message);
  // Only one input wanting a gradient.
  Variable frozen(make({4}, {1, 1, 1, 1}));
  Variable c(make({4}, {-3, 1, -1, 2}), true);
  sum(add_relu(frozen, c)).backward();
  tg::test::check_close(c.grad(), make({4}, {0, 1, 0, 1}));
  Variable d(make({4}, {-3, 1, -1, 2}), true);
  sum(add_relu(d, frozen)).backward();
  tg::test::check_close(d.grad(), make({4}, {0, 1, 0, 1}));

  // Large enough to split over the threads: both gradients are the masked upstream gradient.
  Variable big_a(tg::test::uniform({2, 40000}, -1, 1, 92), true), big_b(tg::test::uniform({2, 40000}, -1, 1, 93), true);
  const Variable upstream(tg::test::uniform({2, 40000}, -1, 1, 94));
  sum(add_relu(big_a, big_b) * upstream).backward();
  const Tensor out = relu(big_a.detach() + big_b.detach()).value();
  Tensor expected = upstream.value();
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (!(out.data()[i] > 0.0f)) expected.data()[i] = 0.0f;
  tg::test::check_close(big_a.grad(), expected);
  tg::test::check_close(big_b.grad(), expected);

  CHECK_THROWS_WITH_AS(add_relu(Variable(make({2}, {1, 2})), Variable(make({3}, {1, 2, 3}))),
                       doctest::Contains("add_relu: expected two inputs of the same shape, got [2] and [3]"),
                       tg::Error);
}

TEST_CASE("relu of a temporary same-shape sum fuses into add_relu; named or broadcast sums do not") {
  const Tensor a0 = tg::test::uniform({4, 5}, -2, 2, 92), b0 = tg::test::uniform({4, 5}, -2, 2, 93);
  const Tensor gy = tg::test::uniform({4, 5}, -1, 1, 94);
  Variable a1(a0, true), b1(b0, true), a2(a0, true), b2(b0, true);
  Variable sum1 = a1 + b1;
  const Tensor sum_before = sum1.value();
  Variable unfused = relu(sum1);
  Variable fused = relu(a2 + b2);
  CHECK(std::string(unfused.op_name()) == "relu");
  CHECK(std::string(fused.op_name()) == "add_relu");
  tg::test::check_close(sum1.value(), sum_before, 0);  // the named sum keeps its negatives
  tg::test::check_close(fused.value(), unfused.value(), 0);
  sum(unfused * Variable(gy)).backward();
  sum(fused * Variable(gy)).backward();
  tg::test::check_close(a2.grad(), a1.grad(), 0);
  tg::test::check_close(b2.grad(), b1.grad(), 0);

  // Broadcasting sums keep add's own rule (add_relu needs equal shapes).
  Variable row(tg::test::uniform({5}, -1, 1, 95), true);
  CHECK(std::string(relu(a1 + row).op_name()) == "relu");
  // A temporary is fused once: a second relu is a relu of add_relu's output.
  CHECK(std::string(relu(relu(a1 + b1)).op_name()) == "relu");
  const auto r = gradcheck([](const std::vector<Variable>& v) { return relu(v[0] + v[1]); },
                           {Variable(tg::test::away_from_zero({3, 4}, 1, 2, 96), true),
                            Variable(tg::test::uniform({3, 4}, -0.5f, 0.5f, 97), true)});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("relu propagates NaN as PyTorch does, fused or not") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Variable x(make({3}, {nan, -1, 2}), true);
  Variable y = relu(x);
  CHECK(std::isnan(y.value()(0)));
  CHECK(y.value()(1) == 0.0f);
  sum(y).backward();
  // threshold_backward: the gradient passes where the output is NaN.
  CHECK(x.grad()(0) == 1.0f);
  CHECK(x.grad()(1) == 0.0f);
  Variable a(make({3}, {nan, -1, 2}), true), b(make({3}, {0, 0, 0}), true);
  Variable fused = relu(a + b), explicit_fused = add_relu(a, b);
  CHECK(std::isnan(fused.value()(0)));
  CHECK(std::isnan(explicit_fused.value()(0)));
  sum(fused).backward();
  CHECK(a.grad()(0) == 1.0f);
  CHECK(b.grad()(0) == 1.0f);
}

TEST_CASE("shapes that do not broadcast are a clear error") {
  Variable a(filled({2, 3}, 1.0f)), b(filled({4}, 1.0f));
  CHECK_THROWS_WITH_AS(a + b, doctest::Contains("add: expected shapes that broadcast, got [2, 3] and [4]"),
                       Error);
  CHECK_THROWS_WITH_AS(a * b, doctest::Contains("mul: expected shapes that broadcast"), Error);
  CHECK_THROWS_WITH_AS(clamp(a, 1.0f, 0.0f), doctest::Contains("clamp: expected min <= max"), Error);
}

TEST_CASE("sum_to reverses broadcasting") {
  Tensor g = make({2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  tg::test::check_close(sum_to(g, {2, 1, 3}), make({2, 1, 3}, {5, 7, 9, 17, 19, 21}));
  tg::test::check_close(sum_to(g, {3}), make({3}, {22, 26, 30}));
  tg::test::check_close(sum_to(g, {}), make({}, {78}));
}

TEST_CASE("large tensors take the parallel path and agree with the serial one") {
  const Shape shape{300, 400};
  Variable x(tg::test::uniform(shape, -2, 2, 7), true);
  Variable y = tanh(x) * x;
  sum(y).backward();
  const Tensor& v = x.value();
  for (std::size_t i = 0; i < v.size(); i += 997) {
    const float t = std::tanh(v.data()[i]);
    CHECK(y.value().data()[i] == doctest::Approx(t * v.data()[i]));
    CHECK(x.grad().data()[i] == doctest::Approx(t + v.data()[i] * (1 - t * t)).epsilon(1e-4));
  }
}
