// interpolate: nearest and bilinear (align_corners true/false) by size and by scale_factor,
// against PyTorch-derived goldens (golden/make_layers_golden.py); gradcheck; errors.
#include <string>
#include <vector>

#include "autograd/golden/layers_golden.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::check_close;

TEST_CASE("interpolate matches PyTorch, forward and backward") {
  struct Case {
    const char* name;
    InterpolateFuncOptions options;
  };
  const std::vector<Case> cases = {
      {"interp_nearest_s2", {.scale_factor = {2.0}}},
      {"interp_nearest_size", {.size = {5, 7}}},
      {"interp_nearest_down", {.size = {2, 3}, .mode = kNearest}},
      {"interp_bilinear_s2", {.scale_factor = {2.0}, .mode = kBilinear, .align_corners = false}},
      {"interp_bilinear_s15", {.scale_factor = {1.5}, .mode = kBilinear}},
      {"interp_bilinear_size_ac", {.size = {5, 7}, .mode = kBilinear, .align_corners = true}},
      {"interp_bilinear_down", {.size = {3, 2}, .mode = kBilinear, .align_corners = false}},
      {"interp_bilinear_s2_ac", {.scale_factor = {2.0, 2.0}, .mode = kBilinear, .align_corners = true}},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.name));
    const std::string p = c.name;
    Variable x(golden::layers(p + ".x"), true);
    Variable y = interpolate(x, c.options);
    check_close(y.value(), golden::layers(p + ".y"), 1e-6, 1e-5);
    y.backward(golden::layers(p + ".gy"));
    check_close(x.grad(), golden::layers(p + ".gx"), 1e-6, 1e-5);
  }
}

TEST_CASE("interpolate gradients pass the finite-difference check") {
  const std::vector<InterpolateFuncOptions> cases = {
      {.scale_factor = {2.0, 3.0}},
      {.size = {4, 2}},
      {.size = {5, 4}, .mode = kBilinear},
      {.scale_factor = {1.7}, .mode = kBilinear, .align_corners = true},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    CAPTURE(k);
    const InterpolateFuncOptions o = cases[k];
    auto fn = [o](const std::vector<Variable>& v) { return interpolate(v[0], o); };
    const GradcheckResult r =
        gradcheck(fn, {Variable(test::uniform({2, 2, 3, 3}, -1, 1, 40 + k), true)}, {.eps = 1e-2, .atol = 1e-3});
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("interpolate: bad input gives tg::Error naming the problem") {
  const Variable x(filled({1, 2, 3, 3}, 1.0f));
  CHECK_THROWS_WITH_AS(interpolate(Variable(filled({2, 3, 3}, 1.0f)), {.size = {4, 4}}),
                       doctest::Contains("add the batch dimension"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, {}), doctest::Contains("neither"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, {.size = {4}, .scale_factor = {2.0}}),
                       doctest::Contains("both"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, {.scale_factor = {-2.0}}),
                       doctest::Contains("scale_factor > 0"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, {.scale_factor = {1e300}}),
                       doctest::Contains("below 1e9"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, {.scale_factor = {0.1}}),
                       doctest::Contains("sizes >= 1"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, {.size = {0, 4}}), doctest::Contains("sizes >= 1"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, {.size = {4, 4}, .align_corners = true}),
                       doctest::Contains("only be set with bilinear"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, {.size = {4, 4, 4}}),
                       doctest::Contains("one or two values"), Error);
}
