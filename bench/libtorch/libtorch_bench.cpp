// LibTorch's side of the side-by-side benchmark: the workloads of bench/workloads.hpp written
// with LibTorch's C++ API, exactly as bench/tapegrad_bench.cpp writes them with tapegrad's.
// Run: libtorch_bench --threads T --workload NAME|w1..w7|all   (--list shows the names)
// Prints one JSON line per workload (same fields as tapegrad_bench). Threads: exactly T
// (torch::set_num_threads(T), one inter-op thread; the driver also sets OMP_NUM_THREADS and
// OPENBLAS_NUM_THREADS). Gradients are set to none before each step (zero_grad(true)).
#include <torch/torch.h>
#include <ATen/autocast_mode.h>

#include <cstdio>
#include <exception>
#include <functional>

#include "bench/workloads.hpp"

namespace {

using tg::bench::Kind;
using tg::bench::Result;
using tg::bench::Workload;
namespace nn = torch::nn;

// The seed network of the lecture notes.
struct SimpleCNNImpl : nn::Module {
  nn::Conv2d conv1{nn::Conv2dOptions(3, 5, 5)};
  nn::MaxPool2d pool{nn::MaxPool2dOptions(2).stride(2)};
  nn::Conv2d conv2{nn::Conv2dOptions(5, 10, 5)};
  nn::Linear fc1{10 * 5 * 5, 32};
  nn::Linear fc2{32, 10};

  SimpleCNNImpl() {
    register_module("conv1", conv1);
    register_module("pool", pool);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = pool(torch::relu(conv1(x)));
    x = pool(torch::relu(conv2(x)));
    x = x.view({-1, 10 * 5 * 5});
    return fc2(torch::relu(fc1(x)));
  }
};
TORCH_MODULE(SimpleCNN);

nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

// torchvision's BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the shortcut
// a 1x1 conv + BN when the shape changes. Written as a user writes it (LibTorch has no library
// block), so it serves both W4 (against tapegrad's library BasicBlock) and W4u (against
// tapegrad's user-written block, as in tests/nn/test_api_scripts.cpp): on this side the two workloads are the same model.
struct BasicBlockImpl : nn::Module {
  nn::Conv2d conv1, conv2;
  nn::BatchNorm2d bn1, bn2;
  nn::Sequential downsample;

  BasicBlockImpl(int64_t in, int64_t out, int64_t stride)
      : conv1(conv3x3(in, out, stride)), conv2(conv3x3(out, out, 1)), bn1(out), bn2(out) {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("bn2", bn2);
    if (stride != 1 || in != out) {
      downsample->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
      downsample->push_back(nn::BatchNorm2d(out));
      register_module("downsample", downsample);
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    return torch::relu(y + (downsample->is_empty() ? x : downsample->forward(x)));
  }
};
TORCH_MODULE(BasicBlock);

// The CIFAR ResNet-20 of tapegrad_bench.cpp: stem, three stages of three BasicBlocks, pool, fc.
struct ResNet20Impl : nn::Module {
  nn::Conv2d conv1;
  nn::BatchNorm2d bn1{16};
  nn::Sequential layer1 = stage(16, 16, 1), layer2 = stage(16, 32, 2), layer3 = stage(32, 64, 2);
  nn::Linear fc{64, 10};

  explicit ResNet20Impl(int64_t in_channels = 3) : conv1(conv3x3(in_channels, 16, 1)) {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("layer1", layer1);
    register_module("layer2", layer2);
    register_module("layer3", layer3);
    register_module("fc", fc);
  }
  static nn::Sequential stage(int64_t in, int64_t out, int64_t stride) {
    return nn::Sequential(BasicBlock(in, out, stride), BasicBlock(out, out, 1), BasicBlock(out, out, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(bn1(conv1(x)));
    y = layer3->forward(layer2->forward(layer1->forward(y)));
    return fc(torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1));
  }
};
TORCH_MODULE(ResNet20);

struct MlpImpl : nn::Module {
  nn::Linear fc1{784, 256}, fc2{256, 10};
  MlpImpl() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x))); }
};
TORCH_MODULE(Mlp);

// torch.autocast("cpu", dtype=torch.bfloat16) in C++: on for the guard's life, and its cache of
// bf16 weight copies cleared on leaving the outermost region (as Python's __exit__ does), so
// that an optimizer step is seen by the next forward.
struct AutocastBf16 {
  bool on;
  explicit AutocastBf16(bool enabled) : on(enabled) {
    if (!on) return;
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~AutocastBf16() {
    if (!on) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(false);
  }
};

void set_grad_to_none(std::initializer_list<torch::Tensor*> tensors) {
  for (torch::Tensor* t : tensors) t->mutable_grad() = torch::Tensor();
}

Result run_conv(const Workload& w) {
  const auto& c = w.conv;
  torch::Tensor x = torch::randn({c.n, c.cin, c.hw, c.hw}).requires_grad_();
  torch::Tensor weight = torch::randn({c.cout, c.cin, c.k, c.k}).requires_grad_();
  torch::Tensor bias = torch::randn({c.cout}).requires_grad_();
  const int64_t ho = tg::bench::conv_out(c);
  const torch::Tensor gy = torch::randn({c.n, c.cout, ho, ho});
  return tg::bench::measure([&] {
    set_grad_to_none({&x, &weight, &bias});
    torch::Tensor y;
    {
      AutocastBf16 autocast(w.autocast);
      y = torch::conv2d(x, weight, bias, c.stride, c.padding);
    }
    y.backward(gy.to(y.scalar_type()));
  });
}

// DCGAN's generator layers: x [N, Cin, H, W], weight [Cin, Cout, K, K], no bias.
Result run_conv_transpose(const Workload& w) {
  const auto& c = w.conv;
  torch::Tensor x = torch::randn({c.n, c.cin, c.hw, c.hw}).requires_grad_();
  torch::Tensor weight = torch::randn({c.cin, c.cout, c.k, c.k}).requires_grad_();
  const int64_t ho = tg::bench::conv_transpose_out(c);
  const torch::Tensor gy = torch::randn({c.n, c.cout, ho, ho});
  return tg::bench::measure([&] {
    set_grad_to_none({&x, &weight});
    torch::conv_transpose2d(x, weight, {}, c.stride, c.padding).backward(gy);
  });
}

Result run_unary(const std::function<torch::Tensor(const torch::Tensor&)>& op) {
  const auto* s = tg::bench::kPoolShape;
  torch::Tensor x = torch::randn({s[0], s[1], s[2], s[3]}).requires_grad_();
  const torch::Tensor gy = torch::randn(op(x).sizes());
  return tg::bench::measure([&] {
    set_grad_to_none({&x});
    op(x).backward(gy);
  });
}

// One training step as the issue defines it: gradients set to none, forward, cross-entropy,
// backward, SGD step; with `autocast`, forward and loss under bf16 autocast.
template <class Model>
Result run_train(Model& model, torch::IntArrayRef input_shape, torch::optim::SGDOptions options,
                 bool autocast = false) {
  model->train();
  const torch::Tensor x = torch::randn(input_shape);
  const torch::Tensor labels = torch::randint(0, 10, {input_shape[0]}, torch::kLong);
  torch::optim::SGD opt(model->parameters(), options);
  return tg::bench::measure([&] {
    model->zero_grad(/*set_to_none=*/true);
    torch::Tensor loss;
    {
      AutocastBf16 guard(autocast);
      loss = torch::nn::functional::cross_entropy(model->forward(x), labels);
    }
    loss.backward();
    opt.step();
  });
}

ResNet20 resnet20(int64_t in_channels) {
  ResNet20 model(in_channels);
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  const int64_t expected = tg::bench::resnet20_params(in_channels);
  if (params != expected)
    throw std::logic_error("ResNet-20: expected " + std::to_string(expected) + " parameters, got " +
                           std::to_string(params));
  return model;
}

std::vector<int64_t> input_shape(const Workload& w) {
  return {w.batch, w.image.channels, w.image.side, w.image.side};
}

Result run_resnet_eval(const Workload& w) {
  ResNet20 model = resnet20(w.image.channels);
  model->eval();
  const torch::Tensor x = torch::randn(input_shape(w));
  return tg::bench::measure([&] {
    torch::NoGradGuard no_grad;
    AutocastBf16 autocast(w.autocast);
    model->forward(x);
  });
}

Result run_chain(bool tanh_chain) {
  torch::Tensor x = torch::full({16}, 0.5f).requires_grad_();
  return tg::bench::measure([&] {
    set_grad_to_none({&x});
    torch::Tensor y = x;
    for (int i = 0; i < tg::bench::kChainOps / 2; ++i)
      y = tanh_chain ? torch::tanh(torch::tanh(y)) : (y * 1.0001f) + 0.0001f;
    y.sum().backward();
  });
}

Result run(const Workload& w) {
  const int64_t b = w.batch;
  switch (w.kind) {
    case Kind::Conv: return run_conv(w);
    case Kind::ConvTranspose: return run_conv_transpose(w);
    case Kind::MaxPool: return run_unary([](const torch::Tensor& x) { return torch::max_pool2d(x, {2, 2}, {2, 2}); });
    case Kind::Relu: return run_unary([](const torch::Tensor& x) { return torch::relu(x); });
    case Kind::SimpleCnn: {
      SimpleCNN model;
      return run_train(model, input_shape(w), torch::optim::SGDOptions(0.01).momentum(0.9));
    }
    case Kind::ResNetTrain:
    case Kind::ResNetUserTrain: {
      ResNet20 model = resnet20(w.image.channels);
      return run_train(model, input_shape(w),
                       torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(5e-4), w.autocast);
    }
    case Kind::ResNetEval: return run_resnet_eval(w);
    case Kind::ChainMulAdd: return run_chain(false);
    case Kind::ChainTanh: return run_chain(true);
    case Kind::Mlp: {
      Mlp model;
      return run_train(model, {b, 784}, torch::optim::SGDOptions(0.01).momentum(0.9));
    }
  }
  throw std::logic_error("unknown workload kind");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const tg::bench::Args args = tg::bench::parse_args(argc, argv);
    if (args.list) {
      tg::bench::print_list();
      return 0;
    }
    torch::set_num_threads(args.threads);
    torch::set_num_interop_threads(1);
    torch::manual_seed(0);
    const std::string threading = "torch::set_num_threads(" + std::to_string(args.threads) + "): " +
                                  std::to_string(torch::get_num_threads()) + " intra-op, " +
                                  std::to_string(torch::get_num_interop_threads()) + " inter-op";
    for (const Workload& w : tg::bench::select(args.workload))
      tg::bench::print_result("libtorch", w, torch::get_num_threads(), run(w), threading);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "libtorch_bench: %s\n", e.what());
    return 1;
  }
}
