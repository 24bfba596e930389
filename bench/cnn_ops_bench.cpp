// CNN op benchmark: conv2d forward+backward on the shapes of small CIFAR-style networks, and
// max_pool2d / relu forward+backward, at 1 and 2 threads.
// Run: build with -DTAPEGRAD_BUILD_BENCH=ON, then ./bench/cnn_ops_bench (no arguments).
// Prints one line per case and thread count: median and min milliseconds per call (forward +
// backward) over 7 batches of ~0.2 s after >= 3 calls and 0.3 s of warm-up, and for conv2d the
// GFLOPS with FLOP = 3 * 2*N*Cout*Ho*Wo*Cin/groups*kH*kW (forward, input and weight gradient).
// "cpu" is the process CPU time per call (all threads): on a busy machine, wall time far above
// cpu / threads means the benchmark was waiting for the CPU, not computing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/autograd/autograd.hpp>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Timing {
  double median_ms, min_ms, cpu_ms;
};

// Warm-up (>= 3 calls and >= 0.3 s), then 7 batches of calls lasting ~0.2 s each.
Timing measure(const std::function<void()>& call) {
  int warm_calls = 0;
  const auto warm_start = Clock::now();
  while (warm_calls < 3 || seconds_since(warm_start) < 0.3) {
    call();
    ++warm_calls;
  }
  const double per_call = seconds_since(warm_start) / warm_calls;
  const int batch = std::max(1, static_cast<int>(0.2 / per_call));
  std::vector<double> ms;
  const std::clock_t cpu_start = std::clock();
  for (int rep = 0; rep < 7; ++rep) {
    const auto start = Clock::now();
    for (int i = 0; i < batch; ++i) call();
    ms.push_back(1e3 * seconds_since(start) / batch);
  }
  const double cpu_ms = 1e3 * double(std::clock() - cpu_start) / CLOCKS_PER_SEC / (7.0 * batch);
  std::sort(ms.begin(), ms.end());
  return {ms[3], ms[0], cpu_ms};
}

struct ConvCase {
  const char* name;
  std::size_t n, cin, cout, h, w, k;
  std::int64_t stride, padding;
};

void bench_conv(const ConvCase& c, int threads) {
  tg::Generator gen(1);
  tg::Variable x(tg::randn_tensor({c.n, c.cin, c.h, c.w}, gen), true);
  tg::Variable w(tg::randn_tensor({c.cout, c.cin, c.k, c.k}, gen), true);
  tg::Variable b(tg::randn_tensor({c.cout}, gen), true);
  const tg::Conv2dOptions options{.stride = c.stride, .padding = c.padding};
  const tg::Shape out = tg::conv2d(x, w, b, options).shape();
  const tg::Tensor gy = tg::randn_tensor(out, gen);
  const Timing t = measure([&] {
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
    tg::conv2d(x, w, b, options).backward(gy);
  });
  const double flop = 3.0 * 2 * c.n * c.cout * out[2] * out[3] * c.cin * c.k * c.k;
  std::printf("%-34s threads %d  median %8.3f ms  min %8.3f ms  %6.1f GFLOPS  (cpu %7.3f ms)\n",
              c.name, threads, t.median_ms, t.min_ms, flop / (t.median_ms * 1e6), t.cpu_ms);
}

void bench_unary(const char* name, const std::function<tg::Variable(const tg::Variable&)>& op,
                 int threads) {
  tg::Generator gen(2);
  tg::Variable x(tg::randn_tensor({64, 16, 32, 32}, gen), true);
  const tg::Tensor gy = tg::randn_tensor(op(x).shape(), gen);
  const Timing t = measure([&] {
    x.zero_grad();
    op(x).backward(gy);
  });
  std::printf("%-34s threads %d  median %8.3f ms  min %8.3f ms                (cpu %7.3f ms)\n",
              name, threads, t.median_ms, t.min_ms, t.cpu_ms);
}

}  // namespace

int main() {
  const std::vector<ConvCase> convs = {
      {"conv2d 16->16 32x32 k3 p1 N64", 64, 16, 16, 32, 32, 3, 1, 1},
      {"conv2d 32->32 16x16 k3 p1 N64", 64, 32, 32, 16, 16, 3, 1, 1},
      {"conv2d 64->64 8x8 k3 p1 N64", 64, 64, 64, 8, 8, 3, 1, 1},
      {"conv2d 16->32 32x32 k3 p1 s2 N64", 64, 16, 32, 32, 32, 3, 2, 1},
      {"conv2d 3->5 32x32 k5 (seed) N64", 64, 3, 5, 32, 32, 5, 1, 0},
  };
  std::printf("fwd+bwd per call; %d threads available\n", tg::get_num_threads());
  for (int threads : {1, 2}) {
    tg::set_num_threads(threads);
    for (const ConvCase& c : convs) bench_conv(c, threads);
    bench_unary("max_pool2d 2x2 [64,16,32,32]", [](const tg::Variable& x) { return tg::max_pool2d(x, 2); },
                threads);
    bench_unary("relu [64,16,32,32]", [](const tg::Variable& x) { return tg::relu(x); }, threads);
  }
}
