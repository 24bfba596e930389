// Post-backward callbacks: run once after each completed backward, with the gradients already
// accumulated; not after a backward that throws; gone once removed.
#include <doctest/doctest.h>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/autograd/backward_callbacks.hpp>

TEST_CASE("a post-backward callback runs after each backward, seeing the final gradients") {
  tg::Variable w(tg::filled({2}, 3.0f), true);
  int calls = 0;
  float seen = 0;
  const auto id = tg::add_post_backward_callback([&] {
    ++calls;
    seen = w.grad()(0);
  });
  tg::sum(w * w).backward();
  CHECK(calls == 1);
  CHECK(seen == doctest::Approx(6.0f));
  tg::sum(w * w).backward();
  CHECK(calls == 2);
  CHECK(seen == doctest::Approx(12.0f));
  tg::remove_post_backward_callback(id);
  tg::sum(w * w).backward();
  CHECK(calls == 2);
}

TEST_CASE("a throwing callback's exception leaves backward; a failed backward runs none") {
  tg::Variable w(tg::filled({2}, 1.0f), true);
  const auto id = tg::add_post_backward_callback([] { throw tg::Error("callback: failed"); });
  CHECK_THROWS_WITH_AS(tg::sum(w).backward(), "callback: failed", tg::Error);
  tg::remove_post_backward_callback(id);
  int calls = 0;
  const auto counting = tg::add_post_backward_callback([&] { ++calls; });
  auto y = tg::sum(w);
  CHECK_THROWS_AS(y.backward(tg::filled({3}, 1.0f)), tg::Error);  // wrong grad_output shape
  CHECK(calls == 0);
  tg::remove_post_backward_callback(counting);
}
