// The autograd core's speed: the cost of recording and differentiating small ops (a 1,000-op
// chain on a 16-element Variable, forward + backward, microseconds per op) and a 512x512 matmul
// forward + backward against the machine's own cblas_sgemm.
// Run: build/bench/core_bench          Prints one line per workload and thread count.
#include <cblas.h>

#include <cstdio>

#include <tapegrad/autograd/autograd.hpp>
#include "bench/bench_util.hpp"

namespace {

void chain_mul_add(const tg::Variable& x) {
  tg::Variable y = x;
  for (int i = 0; i < 500; ++i) y = (y * 1.0001f) + 0.0001f;
  tg::sum(y).backward();
}

void chain_tanh(const tg::Variable& x) {
  tg::Variable y = x;
  for (int i = 0; i < 1000; ++i) y = tg::tanh(y);
  tg::sum(y).backward();
}

void report_chain(const char* name, void (*fn)(const tg::Variable&)) {
  tg::Variable x(tg::filled({16}, 0.5f), true);
  const auto t = tg::bench::time_it([&] {
    x.zero_grad();
    fn(x);
  });
  // 1,000 recorded ops plus the final sum.
  std::printf("%-34s %8.3f us/op (min %.3f)\n", name, t.median_s * 1e6 / 1001, t.min_s * 1e6 / 1001);
}

void report_matmul(int threads) {
  tg::set_num_threads(threads);
  const std::size_t n = 512;
  tg::Variable a(tg::randn({n, n}).value(), true), b(tg::randn({n, n}).value(), true);
  const double flop = 3 * 2.0 * n * n * n;  // forward + two backward products
  const auto ours = tg::bench::time_it([&] {
    a.zero_grad();
    b.zero_grad();
    tg::sum(tg::matmul(a, b)).backward();
  });
  tg::Tensor c = tg::empty_tensor({n, n});
  const auto raw = tg::bench::time_it([&] {
    for (int i = 0; i < 3; ++i)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.value().data(), n,
                  b.value().data(), n, 0.0f, c.data(), n);
  });
  std::printf("matmul 512 fwd+bwd, %d thread(s)     %8.2f ms  %6.1f GFLOPS  (3 raw sgemm: %.2f ms, "
              "%.1f GFLOPS; ratio %.2f)\n",
              threads, ours.median_s * 1e3, flop / ours.median_s * 1e-9, raw.median_s * 1e3,
              flop / raw.median_s * 1e-9, raw.median_s / ours.median_s);
}

}  // namespace

int main() {
  tg::manual_seed(0);
  report_chain("chain x*1.0001, x+0.0001 fwd+bwd", chain_mul_add);
  report_chain("chain tanh fwd+bwd", chain_tanh);
  for (int threads : {1, 2}) report_matmul(threads);
}
