#pragma once
// The workloads of the side-by-side benchmark (issue "Faster than LibTorch on a CPU"), described
// once as data and shared by tapegrad_bench and libtorch_bench, with what both programs need
// around them: the command line (--threads T --workload NAME|all --list), resident-memory
// readings, what BLAS and thread settings the process runs with, and one JSON line per result.
// No tapegrad or LibTorch dependency: header only.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <dlfcn.h>
#include <sys/resource.h>

#include "bench/bench_util.hpp"

namespace tg::bench {

/// What a workload does; each program implements every kind with its own API.
/// ResNetTrain uses the library's residual block (tapegrad: tg::nn::BasicBlock, fused BN + ReLU);
/// ResNetUserTrain the block a user writes (plain layers, relu, operator+).
/// ConvTranspose: conv_transpose2d fwd+bwd, no bias (DCGAN's generator layers).
enum class Kind { Conv, MaxPool, Relu, SimpleCnn, ResNetTrain, ResNetUserTrain, ResNetEval, ChainMulAdd, ChainTanh, Mlp, ConvTranspose };

/// One conv2d case: x [n, cin, hw, hw], weight [cout, cin, k, k], bias [cout]. For a
/// ConvTranspose workload: x [n, cin, hw, hw], weight [cin, cout, k, k] (PyTorch's layout).
struct ConvShape {
  std::int64_t n = 0, cin = 0, cout = 0, hw = 0, k = 0, stride = 1, padding = 0;
};

/// A model workload's input images: [batch, channels, side, side].
struct Image {
  std::int64_t channels = 3, side = 32;
};

/// One row of the benchmark table.
struct Workload {
  const char* name;
  Kind kind;
  std::int64_t batch;  ///< images per call (training steps, inference); 0 where not meaningful
  ConvShape conv;      ///< Conv only
  const char* what;    ///< one line for --list and the table's legend
  Image image = {};    ///< model workloads: CIFAR-sized unless said otherwise
  /// Forward passes (and the loss) under bf16 autocast: tg::AutocastGuard on tapegrad's side,
  /// at::autocast with kBFloat16 on LibTorch's; the fp32 workload of the same shape is the anchor.
  bool autocast = false;
};

/// W6: ops in each chain (the final sum and its backward are timed too, not counted).
inline constexpr int kChainOps = 1000;
/// W2: the input of max_pool2d and relu.
inline constexpr std::int64_t kPoolShape[4] = {64, 16, 32, 32};
/// W4, W4u: parameters of the CIFAR ResNet-20 with projection shortcuts, asserted on both sides.
inline constexpr std::int64_t kResNet20Params = 272474;
/// The same with another number of input channels (the stem's 16 3x3 filters see each).
inline constexpr std::int64_t resnet20_params(std::int64_t channels) { return kResNet20Params + (channels - 3) * 16 * 9; }

/// Every workload, in the order of the issue (W1..W7), then mixed precision (W8).
inline const std::vector<Workload>& workloads() {
  static const std::vector<Workload> all = {
      {"w1_conv_16_16_32", Kind::Conv, 64, {64, 16, 16, 32, 3, 1, 1}, "conv2d fwd+bwd 16->16 k3 p1 32x32 N64"},
      {"w1_conv_32_32_16", Kind::Conv, 64, {64, 32, 32, 16, 3, 1, 1}, "conv2d fwd+bwd 32->32 k3 p1 16x16 N64"},
      {"w1_conv_64_64_8", Kind::Conv, 64, {64, 64, 64, 8, 3, 1, 1}, "conv2d fwd+bwd 64->64 k3 p1 8x8 N64"},
      {"w1_conv_32_32_14", Kind::Conv, 64, {64, 32, 32, 14, 3, 1, 1}, "conv2d fwd+bwd 32->32 k3 p1 14x14 N64 (Fashion-MNIST's middle stage)"},
      {"w1_conv_64_64_7", Kind::Conv, 64, {64, 64, 64, 7, 3, 1, 1}, "conv2d fwd+bwd 64->64 k3 p1 7x7 N64 (Fashion-MNIST's last stage)"},
      {"w1_conv_16_32_32_s2", Kind::Conv, 64, {64, 16, 32, 32, 3, 2, 1}, "conv2d fwd+bwd 16->32 k3 p1 s2 32x32 N64"},
      {"w1_conv_3_5_32_k5", Kind::Conv, 64, {64, 3, 5, 32, 5, 1, 0}, "conv2d fwd+bwd 3->5 k5 p0 32x32 N64 (seed)"},
      {"w2_max_pool2d", Kind::MaxPool, 64, {}, "max_pool2d 2x2 s2 fwd+bwd [64,16,32,32]"},
      {"w2_relu", Kind::Relu, 64, {}, "relu fwd+bwd [64,16,32,32]"},
      {"w3_simple_cnn", Kind::SimpleCnn, 64, {}, "SimpleCNN train step N64 (SGD lr .01 m .9)"},
      {"w4_resnet20_b64", Kind::ResNetTrain, 64, {}, "ResNet-20 train step N64 (SGD .1 m .9 wd 5e-4)"},
      {"w4_resnet20_b128", Kind::ResNetTrain, 128, {}, "ResNet-20 train step N128 (SGD .1 m .9 wd 5e-4)"},
      {"w4f_resnet20_fmnist_b128", Kind::ResNetTrain, 128, {}, "ResNet-20 train step N128 on 1x28x28 (the README run's shape)", {1, 28}},
      {"w4u_resnet20_user_b64", Kind::ResNetUserTrain, 64, {}, "user-written ResNet-20 (plain-layer blocks) train step N64"},
      {"w4u_resnet20_user_b128", Kind::ResNetUserTrain, 128, {}, "user-written ResNet-20 (plain-layer blocks) train step N128"},
      {"w5_resnet20_eval_b256", Kind::ResNetEval, 256, {}, "ResNet-20 eval, no grad, N256"},
      {"w6_chain_mul_add", Kind::ChainMulAdd, 0, {}, "1000 ops x*1.0001, x+0.0001 on [16], fwd+bwd"},
      {"w6_chain_tanh", Kind::ChainTanh, 0, {}, "1000 tanh on [16], fwd+bwd"},
      {"w7_mlp", Kind::Mlp, 64, {}, "MLP 784-256-ReLU-10 train step N64 (SGD lr .01 m .9)"},
      // W9: LibTorch's DCGAN generator (examples/dcgan) layer by layer, batch 64, no bias.
      {"w9_convt_100_256_1", Kind::ConvTranspose, 64, {64, 100, 256, 1, 4, 1, 0}, "conv_transpose2d fwd+bwd 100->256 k4 1x1->4x4 N64 (DCGAN)"},
      {"w9_convt_256_128_4", Kind::ConvTranspose, 64, {64, 256, 128, 4, 3, 2, 1}, "conv_transpose2d fwd+bwd 256->128 k3 s2 p1 4x4->7x7 N64 (DCGAN)"},
      {"w9_convt_128_64_7", Kind::ConvTranspose, 64, {64, 128, 64, 7, 4, 2, 1}, "conv_transpose2d fwd+bwd 128->64 k4 s2 p1 7x7->14x14 N64 (DCGAN)"},
      {"w9_convt_64_1_14", Kind::ConvTranspose, 64, {64, 64, 1, 14, 4, 2, 1}, "conv_transpose2d fwd+bwd 64->1 k4 s2 p1 14x14->28x28 N64 (DCGAN)"},
      // W8: mixed precision (bf16 products, fp32 accumulation); anchors: w1, w4u and w5 in fp32.
      {"w8_conv_16_16_32_bf16", Kind::Conv, 64, {64, 16, 16, 32, 3, 1, 1}, "w1_conv_16_16_32 under bf16 autocast", {}, true},
      {"w8_conv_32_32_16_bf16", Kind::Conv, 64, {64, 32, 32, 16, 3, 1, 1}, "w1_conv_32_32_16 under bf16 autocast", {}, true},
      {"w8_conv_64_64_8_bf16", Kind::Conv, 64, {64, 64, 64, 8, 3, 1, 1}, "w1_conv_64_64_8 under bf16 autocast", {}, true},
      {"w8_resnet20_user_bf16_b64", Kind::ResNetUserTrain, 64, {}, "w4u_resnet20_user_b64 with forward + loss under bf16 autocast", {}, true},
      {"w8_resnet20_user_bf16_b128", Kind::ResNetUserTrain, 128, {}, "w4u_resnet20_user_b128 with forward + loss under bf16 autocast", {}, true},
      {"w8_resnet20_eval_bf16_b256", Kind::ResNetEval, 256, {}, "w5_resnet20_eval_b256 under bf16 autocast", {}, true},
  };
  return all;
}

/// Output side of a convolution.
inline std::int64_t conv_out(const ConvShape& c) { return (c.hw + 2 * c.padding - c.k) / c.stride + 1; }

/// Output side of a transposed convolution (output_padding 0).
inline std::int64_t conv_transpose_out(const ConvShape& c) { return (c.hw - 1) * c.stride - 2 * c.padding + c.k; }

/// FLOP of one conv fwd+bwd: 3 x 2*N*Cout*Ho*Wo*Cin*K*K (forward, input and weight gradient).
inline double conv_flop(const ConvShape& c) {
  const double ho = static_cast<double>(conv_out(c));
  return 3.0 * 2.0 * c.n * c.cout * ho * ho * c.cin * c.k * c.k;
}

/// FLOP of one transposed conv fwd+bwd: 3 x 2*N*Cin*H*W*Cout*K*K (each input value meets every
/// tap of every output channel; padding's cropped taps counted too, as LibTorch computes them).
inline double conv_transpose_flop(const ConvShape& c) {
  return 3.0 * 2.0 * c.n * c.cin * c.hw * c.hw * c.cout * c.k * c.k;
}

/// Throughput of one call lasting `seconds`, and its unit (higher is better except us/op).
inline std::pair<double, const char*> throughput(const Workload& w, double seconds) {
  switch (w.kind) {
    case Kind::Conv: return {conv_flop(w.conv) / seconds * 1e-9, "GFLOPS"};
    case Kind::ConvTranspose: return {conv_transpose_flop(w.conv) / seconds * 1e-9, "GFLOPS"};
    case Kind::MaxPool:
    case Kind::Relu: return {64.0 * 16 * 32 * 32 / seconds * 1e-6, "Melem/s"};
    case Kind::ChainMulAdd:
    case Kind::ChainTanh: return {seconds * 1e6 / kChainOps, "us/op"};
    default: return {static_cast<double>(w.batch) / seconds, "img/s"};
  }
}

/// The line in /proc/self/status starting with `key` ("VmRSS:", "VmHWM:"), in MB; -1 if absent.
inline double proc_status_mb(const char* key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key, 0) == 0) return std::atof(line.c_str() + std::strlen(key)) / 1024.0;
  return -1;
}

/// Resident memory now, MB.
inline double current_rss_mb() { return proc_status_mb("VmRSS:"); }

/// Resets the kernel's peak-RSS mark to the current RSS (Linux >= 4.0); false if not allowed.
inline bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

/// Peak resident memory of the process, MB (since reset_peak_rss() when that worked).
inline double peak_rss_mb() {
  const double hwm = proc_status_mb("VmHWM:");
  if (hwm >= 0) return hwm;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // kB on Linux
}

/// The command line both programs take.
struct Args {
  int threads = 1;
  std::string workload = "all";
  bool list = false;
};

inline Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + ": expected a value");
      return argv[++i];
    };
    if (a == "--threads") args.threads = std::stoi(value());
    else if (a == "--workload") args.workload = value();
    else if (a == "--list") args.list = true;
    else throw std::invalid_argument("unknown argument " + a +
                                     " (use --threads T --workload NAME|all --list)");
  }
  if (args.threads < 1) throw std::invalid_argument("--threads: expected >= 1");
  return args;
}

/// The workloads a command line selects: one by name, every one for "all", or a W prefix ("w1",
/// "w4u").
inline std::vector<Workload> select(const std::string& name) {
  std::vector<Workload> out;
  for (const Workload& w : workloads())
    if (name == "all" || name == w.name || std::string(w.name).rfind(name + "_", 0) == 0)
      out.push_back(w);
  if (out.empty()) throw std::invalid_argument("no workload named " + name + " (see --list)");
  return out;
}

/// Prints the workloads, one per line: name and description.
inline void print_list() {
  for (const Workload& w : workloads()) std::printf("%-24s %s\n", w.name, w.what);
}

/// What one measured workload reports.
struct Result {
  double median_s = 0, min_s = 0;
  double baseline_rss_mb = 0, peak_rss_mb = 0;
  bool peak_reset = false;  ///< peak counts from the baseline (else from process start)
};

/// Times `fn` with time_it; the baseline is the RSS right before the first call (inputs, model
/// and optimizer built), the peak the high-water mark from there (optimizer state included).
template <class Fn>
Result measure(Fn&& fn) {
  Result r;
  r.baseline_rss_mb = current_rss_mb();
  r.peak_reset = reset_peak_rss();
  const Timing t = time_it(fn);
  r.median_s = t.median_s;
  r.min_s = t.min_s;
  r.peak_rss_mb = peak_rss_mb();
  return r;
}

/// The BLAS this process runs on, read from inside it (a comparison must say what each side
/// used, not what the system's alternatives say): the BLAS/LAPACK files mapped into memory, and
/// OpenBLAS's own report (its kernels' core, its threading build, its threads) when loaded.
inline std::string blas_info() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> seen;
  std::string line, out;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string file = path.substr(path.rfind('/') + 1);
    const bool blas = file.find("blas") != std::string::npos || file.find("lapack") != std::string::npos ||
                      file.find("mkl") != std::string::npos || file.find("blis") != std::string::npos;
    if (blas && seen.insert(path).second) out += (out.empty() ? "" : " + ") + path;
  }
  if (out.empty()) out = "no BLAS library mapped";
  // Looked up at run time, so that neither program links OpenBLAS for this.
  using Name = char* (*)();
  using Count = int (*)();
  const auto corename = reinterpret_cast<Name>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const auto parallel = reinterpret_cast<Count>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  const auto threads = reinterpret_cast<Count>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (corename && parallel && threads) {
    static const char* const builds[] = {"sequential", "pthreads", "OpenMP"};
    const int p = parallel();
    out += std::string("; OpenBLAS core ") + corename() + ", " + (p >= 0 && p <= 2 ? builds[p] : "unknown") +
           " build, " + std::to_string(threads()) + " BLAS thread(s)";
  }
  return out;
}

/// The environment variables set in this process that steer threads or which BLAS is loaded
/// ("none" when there are none): the driver sets them for LibTorch only.
inline std::string tuning_env() {
  static const char* const names[] = {"OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT",
                                      "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "GOTO_NUM_THREADS",
                                      "MKL_NUM_THREADS", "LD_LIBRARY_PATH", "LD_PRELOAD"};
  std::string out;
  for (const char* name : names)
    if (const char* value = std::getenv(name)) out += (out.empty() ? "" : " ") + std::string(name) + "=" + value;
  return out.empty() ? "none" : out;
}

/// `s` as a JSON string body (paths and settings: only quotes and backslashes need escaping).
inline std::string json_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

/// One JSON line: side, workload, threads, times (ms), throughput, memory, and the configuration
/// it ran with (`threading`: the program's own thread settings; BLAS and environment read here).
inline void print_result(const char* side, const Workload& w, int threads, const Result& r,
                         const std::string& threading) {
  const auto [tput, unit] = throughput(w, r.median_s);
  std::printf(
      "{\"side\": \"%s\", \"workload\": \"%s\", \"threads\": %d, \"median_ms\": %.6g, "
      "\"min_ms\": %.6g, \"throughput\": %.6g, \"unit\": \"%s\", \"baseline_rss_mb\": %.1f, "
      "\"peak_rss_mb\": %.1f, \"peak_since_baseline\": %s, \"blas\": \"%s\", \"threading\": \"%s\", "
      "\"env\": \"%s\"}\n",
      side, w.name, threads, r.median_s * 1e3, r.min_s * 1e3, tput, unit, r.baseline_rss_mb,
      r.peak_rss_mb, r.peak_reset ? "true" : "false", json_escape(blas_info()).c_str(),
      json_escape(threading).c_str(), json_escape(tuning_env()).c_str());
  std::fflush(stdout);
}

}  // namespace tg::bench
