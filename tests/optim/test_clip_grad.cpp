// clip_grad_norm_ and clip_grad_value_ against PyTorch's numbers (tests/optim/golden).
#include "optim_test_util.hpp"

using namespace tg;
using namespace tg::optim;
using tg::test::set_grad;

TEST_CASE("clip_grad_norm_ matches PyTorch for norms 1, 2, 3 and inf, clipping or not") {
  REQUIRE(test::golden::kClipGolden.size() >= 5);
  for (const auto& c : test::golden::kClipGolden) {
    INFO("max_norm ", c.max_norm, " norm_type ", c.norm_type);
    Variable p0(Tensor::from_shape({3, 4}), true), p1(Tensor::from_shape({5}), true);
    set_grad(p0, test::slice(c.grads, 0, {3, 4}));
    set_grad(p1, test::slice(c.grads, 12, {5}));
    const double total = clip_grad_norm_({p0, p1}, c.max_norm, c.norm_type);
    CHECK(total == doctest::Approx(c.total_norm).epsilon(1e-6));
    test::check_close(p0.grad(), test::slice(c.clipped, 0, {3, 4}), 1e-7, 1e-6);
    test::check_close(p1.grad(), test::slice(c.clipped, 12, {5}), 1e-7, 1e-6);
  }
}

TEST_CASE("clip_grad_norm_ skips parameters without a gradient and leaves small norms alone") {
  Variable a(Tensor::from_shape({2}), true), none(Tensor::from_shape({2}), true);
  set_grad(a, test::make({2}, {3, 4}));
  CHECK(clip_grad_norm_({a, none}, 10.0) == doctest::Approx(5.0));
  test::check_close(a.grad(), test::make({2}, {3, 4}), 0, 0);
  CHECK(clip_grad_norm_({a, none}, 1.0) == doctest::Approx(5.0));
  test::check_close(a.grad(), test::make({2}, {0.6f, 0.8f}), 1e-6, 0);
  CHECK_FALSE(none.has_grad());
  CHECK(clip_grad_norm_({none}, 1.0) == 0.0);
}

TEST_CASE("clip_grad_norm_ on a non-finite norm: an error when asked, PyTorch's scaling otherwise") {
  Variable a(Tensor::from_shape({2}), true);
  set_grad(a, test::make({2}, {INFINITY, 1}));
  CHECK_THROWS_WITH_AS(clip_grad_norm_({a}, 1.0, 2.0, true),
                       doctest::Contains("clip_grad_norm_: expected a finite total norm of order 2"), tg::Error);
  CHECK(std::isinf(clip_grad_norm_({a}, 1.0)));
  CHECK(a.grad()(1) == 0.0f);  // scaled by max_norm / inf
  set_grad(a, test::make({2}, {NAN, 1}));
  CHECK_THROWS_AS(clip_grad_norm_({a}, 1.0, INFINITY, true), tg::Error);
  CHECK_THROWS_WITH_AS(clip_grad_norm_({a}, 1.0, 0.0), doctest::Contains("expected norm_type > 0"), tg::Error);
}

TEST_CASE("clip_grad_value_ clamps into [-clip, clip]") {
  Variable a(Tensor::from_shape({4}), true);
  set_grad(a, test::make({4}, {-3, -0.5f, 0.25f, 7}));
  clip_grad_value_({a}, 1.0);
  test::check_close(a.grad(), test::make({4}, {-1, -0.5f, 0.25f, 1}), 0, 0);
  CHECK_THROWS_WITH_AS(clip_grad_value_({a}, -1.0), doctest::Contains("expected clip_value >= 0"), tg::Error);
}
