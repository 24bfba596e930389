// tapegrad's side of the side-by-side benchmark against LibTorch (bench/workloads.hpp lists the
// workloads W1..W7; bench/libtorch/libtorch_bench.cpp does the same with LibTorch).
// Run: tapegrad_bench --threads T --workload NAME|w1..w7|all   (--list shows the names)
// Prints one JSON line per workload: median and min ms per call, throughput and its unit, the
// RSS right before the first call and the peak from there. bench/run.sh runs both programs,
// one process per workload, alternating, and prints the comparison table.
#include <cstdio>
#include <exception>
#include <functional>
#include <string>

#include <tapegrad/autograd/autograd.hpp>
#include "bench/resnet20.hpp"
#include "bench/workloads.hpp"
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/sgd.hpp>

namespace {

using tg::Variable;
using tg::bench::Kind;
using tg::bench::ResNet20;
using tg::bench::Result;
using tg::bench::Workload;

tg::Generator& gen() {
  static tg::Generator g(1);
  return g;
}

Variable random_input(const tg::Shape& shape, bool requires_grad = false) {
  return Variable(tg::randn_tensor(shape, gen()), requires_grad);
}

tg::Labels random_labels(std::size_t n) {
  tg::Labels labels = tg::Labels::from_shape({n});
  for (std::size_t i = 0; i < n; ++i) labels(i) = static_cast<std::int64_t>(gen().below(10));
  return labels;
}

// The seed network of the lecture notes (the README's SimpleCNN).
struct SimpleCNN : tg::nn::Module {
  tg::nn::Conv2d conv1{3, 5, 5};
  tg::nn::MaxPool2d pool{2, 2};
  tg::nn::Conv2d conv2{5, 10, 5};
  tg::nn::Linear fc1{10 * 5 * 5, 32};
  tg::nn::Linear fc2{32, 10};

  SimpleCNN() {
    register_module("conv1", conv1);
    register_module("pool", pool);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Variable forward(Variable x) {
    x = pool(tg::relu(conv1(x)));
    x = pool(tg::relu(conv2(x)));
    x = x.view({-1, 10 * 5 * 5});
    return fc2(tg::relu(fc1(x)));
  }
};

// ResNet-20 as a user ports it from PyTorch, blocks as a user writes them (tests/nn/test_api_scripts.cpp's Block): plain
// layers, tg::relu and operator+, no fused call. The library's blocks are fast; this measures
// the speed users get with their own (issue 11).
struct UserBlock : tg::nn::Module {
  tg::nn::Conv2d conv1, conv2;
  tg::nn::BatchNorm2d bn1, bn2;
  tg::nn::Sequential shortcut;  // empty: identity; else 1x1 conv + BN

  UserBlock(std::int64_t in, std::int64_t out, std::int64_t stride)
      : conv1(in, out, 3, {.stride = stride, .padding = 1, .bias = false}),
        conv2(out, out, 3, {.padding = 1, .bias = false}),
        bn1(out),
        bn2(out) {
    if (stride != 1 || in != out) {
      shortcut->push_back(tg::nn::Conv2d(in, out, 1, {.stride = stride, .bias = false}));
      shortcut->push_back(tg::nn::BatchNorm2d(out));
    }
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("bn2", bn2);
    register_module("shortcut", shortcut);
  }
  Variable forward(const Variable& x) {
    auto out = tg::relu(bn1(conv1(x)));
    out = bn2(conv2(out));
    return tg::relu(out + shortcut(x));
  }
};

struct UserResNet20 : tg::nn::Module {
  tg::nn::Conv2d conv1;
  tg::nn::BatchNorm2d bn1{16};
  tg::nn::Sequential layer1 = stage(16, 16, 1), layer2 = stage(16, 32, 2), layer3 = stage(32, 64, 2);
  tg::nn::Linear fc{64, 10};

  explicit UserResNet20(std::int64_t in_channels = 3) : conv1(in_channels, 16, 3, {.padding = 1, .bias = false}) {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("layer1", layer1);
    register_module("layer2", layer2);
    register_module("layer3", layer3);
    register_module("fc", fc);
  }
  static tg::nn::Sequential stage(std::int64_t in, std::int64_t out, std::int64_t stride) {
    return tg::nn::Sequential(UserBlock(in, out, stride), UserBlock(out, out, 1), UserBlock(out, out, 1));
  }
  Variable forward(const Variable& x) {
    auto out = tg::relu(bn1(conv1(x)));
    out = layer3(layer2(layer1(out)));
    out = tg::adaptive_avg_pool2d(out, {1, 1});
    return fc(out.flatten(1));
  }
};

struct Mlp : tg::nn::Module {
  tg::nn::Linear fc1{784, 256};
  tg::nn::Linear fc2{256, 10};
  Mlp() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Variable forward(const Variable& x) { return fc2(tg::relu(fc1(x))); }
};

Result run_conv(const Workload& w) {
  const auto& c = w.conv;
  const auto n = static_cast<std::size_t>(c.n);
  Variable x = random_input({n, std::size_t(c.cin), std::size_t(c.hw), std::size_t(c.hw)}, true);
  Variable weight = random_input({std::size_t(c.cout), std::size_t(c.cin), std::size_t(c.k), std::size_t(c.k)}, true);
  Variable bias = random_input({std::size_t(c.cout)}, true);
  const auto ho = static_cast<std::size_t>(tg::bench::conv_out(c));
  const tg::Tensor gy = tg::randn_tensor({n, std::size_t(c.cout), ho, ho}, gen());
  const tg::Conv2dOptions options{.stride = c.stride, .padding = c.padding};
  return tg::bench::measure([&] {
    x.zero_grad();
    weight.zero_grad();
    bias.zero_grad();
    Variable y;
    {
      tg::AutocastGuard autocast(w.autocast);
      y = tg::conv2d(x, weight, bias, options);
    }
    y.backward(gy);
  });
}

// DCGAN's generator layers: x [N, Cin, H, W], weight [Cin, Cout, K, K], no bias.
Result run_conv_transpose(const Workload& w) {
  const auto& c = w.conv;
  const auto n = static_cast<std::size_t>(c.n);
  Variable x = random_input({n, std::size_t(c.cin), std::size_t(c.hw), std::size_t(c.hw)}, true);
  Variable weight = random_input({std::size_t(c.cin), std::size_t(c.cout), std::size_t(c.k), std::size_t(c.k)}, true);
  const auto ho = static_cast<std::size_t>(tg::bench::conv_transpose_out(c));
  const tg::Tensor gy = tg::randn_tensor({n, std::size_t(c.cout), ho, ho}, gen());
  const tg::ConvTranspose2dFuncOptions options{.stride = c.stride, .padding = c.padding};
  return tg::bench::measure([&] {
    x.zero_grad();
    weight.zero_grad();
    tg::conv_transpose2d(x, weight, Variable(), options).backward(gy);
  });
}

Result run_unary(const std::function<Variable(const Variable&)>& op) {
  const auto* s = tg::bench::kPoolShape;
  Variable x = random_input({std::size_t(s[0]), std::size_t(s[1]), std::size_t(s[2]), std::size_t(s[3])}, true);
  const tg::Tensor gy = tg::randn_tensor(op(x).shape(), gen());
  return tg::bench::measure([&] {
    x.zero_grad();
    op(x).backward(gy);
  });
}

// One training step as the issue defines it: gradients set to none, forward, cross-entropy,
// backward, SGD step; with `autocast`, forward and loss under tg::AutocastGuard, as a user
// writes it (backward follows the forward's precision).
template <class Model>
Result run_train(Model& model, const tg::Shape& input_shape, tg::optim::SGDOptions options,
                 bool autocast = false) {
  model.train();
  const Variable x = random_input(input_shape);
  const tg::Labels labels = random_labels(input_shape[0]);
  tg::optim::SGD opt(model.parameters(), options);
  return tg::bench::measure([&] {
    opt.zero_grad();
    Variable loss;
    {
      tg::AutocastGuard guard(autocast);
      loss = tg::cross_entropy(model.forward(x), labels);
    }
    loss.backward();
    opt.step();
  });
}

// A ResNet-20 (library blocks or user-written), its parameter count checked against LibTorch's.
template <class Model>
void check_resnet20(const Model& model, std::int64_t in_channels) {
  const auto params = static_cast<std::int64_t>(model.num_parameters());
  const std::int64_t expected = tg::bench::resnet20_params(in_channels);
  TG_CHECK(params == expected, "ResNet-20: expected ", expected, " parameters, got ", params);
}

ResNet20 resnet20(std::int64_t in_channels) {
  ResNet20 model(in_channels);
  check_resnet20(model, in_channels);
  return model;
}

tg::Shape input_shape(const Workload& w) {
  const auto side = static_cast<std::size_t>(w.image.side);
  return {static_cast<std::size_t>(w.batch), static_cast<std::size_t>(w.image.channels), side, side};
}

Result run_resnet_eval(const Workload& w) {
  ResNet20 model = resnet20(w.image.channels);
  model.eval();
  const Variable x = random_input(input_shape(w));
  return tg::bench::measure([&] {
    tg::NoGradGuard no_grad;
    tg::AutocastGuard autocast(w.autocast);
    model.forward(x);
  });
}

Result run_chain(bool tanh_chain) {
  Variable x(tg::filled({16}, 0.5f), true);
  return tg::bench::measure([&] {
    x.zero_grad();
    Variable y = x;
    for (int i = 0; i < tg::bench::kChainOps / 2; ++i)
      y = tanh_chain ? tg::tanh(tg::tanh(y)) : (y * 1.0001f) + 0.0001f;
    tg::sum(y).backward();
  });
}

Result run(const Workload& w) {
  const std::size_t b = static_cast<std::size_t>(w.batch);
  switch (w.kind) {
    case Kind::Conv: return run_conv(w);
    case Kind::ConvTranspose: return run_conv_transpose(w);
    case Kind::MaxPool: return run_unary([](const Variable& x) { return tg::max_pool2d(x, 2, 2); });
    case Kind::Relu: return run_unary([](const Variable& x) { return tg::relu(x); });
    case Kind::SimpleCnn: {
      SimpleCNN model;
      return run_train(model, input_shape(w), {.lr = 0.01, .momentum = 0.9});
    }
    case Kind::ResNetTrain: {
      ResNet20 model = resnet20(w.image.channels);
      return run_train(model, input_shape(w), {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
    }
    case Kind::ResNetUserTrain: {
      UserResNet20 model(w.image.channels);
      check_resnet20(model, w.image.channels);
      return run_train(model, input_shape(w), {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4}, w.autocast);
    }
    case Kind::ResNetEval: return run_resnet_eval(w);
    case Kind::ChainMulAdd: return run_chain(false);
    case Kind::ChainTanh: return run_chain(true);
    case Kind::Mlp: {
      Mlp model;
      return run_train(model, {b, 784}, {.lr = 0.01, .momentum = 0.9});
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
    tg::set_num_threads(args.threads);
    std::fputs(tg::build_info().c_str(), stderr);  // stdout carries only the JSON lines
    tg::manual_seed(0);
    const std::string threading = "tg::set_num_threads(" + std::to_string(args.threads) + "): " +
                                  std::to_string(tg::get_num_threads()) + " OpenMP threads";
    for (const Workload& w : tg::bench::select(args.workload))
      tg::bench::print_result("tapegrad", w, tg::get_num_threads(), run(w), threading);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tapegrad_bench: %s\n", e.what());
    return 1;
  }
}
