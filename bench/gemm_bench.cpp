// OpenBLAS against oneDNN's dnnl_sgemm behind kernels::gemm, in one process, interleaved, on the
// products that still go through a BLAS: convolutions with fewer than 16 output channels (the
// seed network SimpleCNN), linear layers (the MLP 784-256-10) and a square matmul; the ResNet
// stem (3 -> 16, small_gemm) for reference. Prints microseconds per call, the best median of
// the rounds per library. Usage: gemm_bench [--threads T] [--rounds R]
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/autograd/kernels/conv2d.hpp>
#include <tapegrad/autograd/kernels/gemm.hpp>
#include "bench/bench_util.hpp"

namespace {

using tg::kernels::GemmLibrary;

struct Case {
  std::string name;
  std::function<void()> run;
};

std::vector<float> values(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = float(i % 13) * 0.01f - 0.06f;
  return v;
}

// Forward and backward of one conv over [n, cin, hw, hw] with a k x k kernel (no padding, no
// input gradient for the first layer, as in training).
void add_conv(std::vector<Case>& cases, const std::string& name, std::int64_t n, std::int64_t cin,
              std::int64_t cout, std::int64_t hw, std::int64_t k, std::int64_t pad, bool input_grad) {
  tg::kernels::ConvGeometry g;
  g.batch = n, g.in_channels = cin, g.height = hw, g.width = hw;
  g.out_channels = cout, g.kernel_h = k, g.kernel_w = k, g.pad_h = pad, g.pad_w = pad;
  g.compute_output_size();
  auto x = std::make_shared<std::vector<float>>(values(std::size_t(n * cin * hw * hw)));
  auto w = std::make_shared<std::vector<float>>(values(std::size_t(cout * cin * k * k)));
  auto y = std::make_shared<std::vector<float>>(std::size_t(n * cout * g.out_plane()));
  auto gx = std::make_shared<std::vector<float>>(x->size());
  auto gw = std::make_shared<std::vector<float>>(w->size());
  auto gb = std::make_shared<std::vector<float>>(std::size_t(cout));
  cases.push_back({name + " fwd", [=] { tg::kernels::conv2d_forward(x->data(), w->data(), nullptr, y->data(), g); }});
  cases.push_back({name + " bwd", [=] {
                     tg::kernels::conv2d_backward(y->data(), x->data(), w->data(),
                                                  input_grad ? gx->data() : nullptr, gw->data(),
                                                  gb->data(), g);
                   }});
}

// C [m, n] = op(A) op(B), as linalg's linear and matmul call it.
void add_gemm(std::vector<Case>& cases, const std::string& name, bool ta, bool tb, std::int64_t m,
              std::int64_t n, std::int64_t k) {
  auto a = std::make_shared<std::vector<float>>(values(std::size_t(m * k)));
  auto b = std::make_shared<std::vector<float>>(values(std::size_t(k * n)));
  auto c = std::make_shared<std::vector<float>>(std::size_t(m * n));
  cases.push_back({name, [=] {
                     tg::kernels::gemm(ta, tb, m, n, k, 1.0f, a->data(), ta ? m : k, b->data(),
                                       tb ? k : n, 0.0f, c->data(), n);
                   }});
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
  }
  tg::set_num_threads(threads);
  std::printf("%s", tg::build_info().c_str());
  std::vector<Case> cases;
  add_conv(cases, "SimpleCNN conv1 3->5 k5 32x32 N64", 64, 3, 5, 32, 5, 0, false);
  add_conv(cases, "SimpleCNN conv2 5->10 k5 14x14 N64", 64, 5, 10, 14, 5, 0, true);
  add_conv(cases, "ResNet stem 3->16 k3 p1 32x32 N64", 64, 3, 16, 32, 3, 1, false);
  add_gemm(cases, "MLP fc1 64x784 @ 784x256", false, true, 64, 256, 784);
  add_gemm(cases, "MLP fc1 dx 64x256 @ 256x784", false, false, 64, 784, 256);
  add_gemm(cases, "MLP fc1 dW 256x64 @ 64x784", true, false, 256, 784, 64);
  add_gemm(cases, "MLP fc2 64x256 @ 256x10", false, true, 64, 10, 256);
  add_gemm(cases, "MLP fc2 dx 64x10 @ 10x256", false, false, 64, 256, 10);
  add_gemm(cases, "MLP fc2 dW 10x64 @ 64x256", true, false, 10, 256, 64);
  add_gemm(cases, "matmul 512x512 @ 512x512", false, false, 512, 512, 512);
  const std::vector<std::pair<GemmLibrary, const char*>> libraries = {
      {GemmLibrary::openblas, "OpenBLAS"}, {GemmLibrary::onednn, "oneDNN"}};
  // On a shared machine the medians carry the other processes' load; the minimum per call is
  // the closest to the uncontended speed. Both are printed.
  std::printf("threads %d, %d interleaved rounds, us per call: minimum (lowest median)\n"
              "%-40s %20s %20s %7s\n",
              threads, rounds, "case", libraries[0].second, libraries[1].second, "ratio");
  for (const Case& c : cases) {
    std::vector<double> best(libraries.size(), 1e30), median(libraries.size(), 1e30);
    for (int r = 0; r < rounds; ++r)
      for (std::size_t l = 0; l < libraries.size(); ++l) {
        tg::kernels::set_gemm_library(libraries[l].first);
        const tg::bench::Timing t = tg::bench::time_it(c.run);
        best[l] = std::min(best[l], t.min_s * 1e6);
        median[l] = std::min(median[l], t.median_s * 1e6);
      }
    std::printf("%-40s %9.1f (%8.1f) %9.1f (%8.1f) %6.2fx\n", c.name.c_str(), best[0], median[0],
                best[1], median[1], best[0] / best[1]);
    std::fflush(stdout);
  }
  tg::kernels::set_gemm_library(GemmLibrary::automatic);
}
