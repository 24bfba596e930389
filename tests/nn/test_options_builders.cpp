// LibTorch's option builders and module forms beside tapegrad's designated initialisers: each
// builder sets the same fields as the designated form (same printed module, same parameter
// shapes), the getters return the values, TORCH_MODULE holders and Functional work in Sequential.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <tapegrad/autograd/conv.hpp>
#include <tapegrad/nn/nn.hpp>

#include "../test_util.hpp"

namespace {

using tg::Shape;
using tg::Variable;
namespace nn = tg::nn;

// Printed form and parameter names and shapes: what must agree between the two forms.
template <class A, class B>
void check_same(const A& a, const B& b) {
  CHECK(nn::repr(*a) == nn::repr(*b));
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CHECK(pa[i].first == pb[i].first);
    CHECK(pa[i].second.shape() == pb[i].second.shape());
  }
}

TEST_CASE("Conv2dOptions: LibTorch's builder equals the designated form") {
  // The porter's line from the issue.
  nn::Conv2d built(nn::Conv2dOptions(1, 64, 4).stride(2).padding(1).bias(false));
  nn::Conv2d designated(1, 64, 4, {.stride = 2, .padding = 1, .bias = false});
  check_same(built, designated);
  CHECK(nn::repr(*built) == "Conv2d(1, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)");
  CHECK_FALSE(built->bias.defined());

  nn::Conv2d grouped(nn::Conv2dOptions(4, 8, {3, 5}).stride({2, 1}).dilation(2).groups(2));
  nn::Conv2d grouped_d(4, 8, {3, 5}, {.stride = {2, 1}, .dilation = 2, .groups = 2});
  check_same(grouped, grouped_d);
  CHECK(grouped->weight.shape() == Shape{8, 2, 3, 5});

  // Getters return the values; the fields still read as before.
  const auto o = nn::Conv2dOptions(1, 64, 4).stride(2).bias(false);
  CHECK(o.in_channels() == 1);
  CHECK(o.out_channels() == 64);
  CHECK(o.kernel_size().h == 4);
  CHECK(o.stride().w == 2);
  CHECK(o.stride.h == 2);
  CHECK(o.padding() == nn::Size2(0));
  CHECK(o.bias() == false);
  // The layer records every argument, in either form.
  CHECK(designated->options.in_channels() == 1);
  CHECK(designated->options.out_channels() == 64);
  CHECK(designated->options.kernel_size() == nn::Size2(4));
  CHECK(built->options.stride() == nn::Size2(2));

  // Same result on the same weights.
  tg::manual_seed(3);
  nn::Conv2d a(nn::Conv2dOptions(2, 3, 3).padding(1));
  tg::manual_seed(3);
  nn::Conv2d b(2, 3, 3, {.padding = 1});
  const Variable x(tg::randn(Shape{1, 2, 5, 5}));
  tg::test::check_close(a(x).value(), b(x).value());
}

TEST_CASE("Functional conv2d options: Conv2dFuncOptions builder") {
  const auto f = tg::Conv2dFuncOptions().stride(2).padding(1);
  CHECK(f.stride() == 2);
  CHECK(f.padding() == 1);
  CHECK(f.dilation() == 1);
  const Variable x(tg::randn(Shape{1, 2, 6, 6}));
  const Variable w(tg::randn(Shape{3, 2, 3, 3}));
  tg::test::check_close(tg::conv2d(x, w, Variable(), f).value(), tg::conv2d(x, w, Variable(), {.stride = 2, .padding = 1}).value());
}

TEST_CASE("LinearOptions, FlattenOptions") {
  nn::Linear built(nn::LinearOptions(784, 10).bias(false));
  nn::Linear plain(784, 10, false);
  check_same(built, plain);
  CHECK(built->options.in_features() == 784);
  CHECK(built->options.out_features() == 10);
  CHECK(built->options.bias() == false);
  CHECK(plain->options.bias() == false);
  CHECK(nn::LinearOptions(3, 4).bias());

  nn::Flatten flat(nn::FlattenOptions().start_dim(2));
  CHECK(nn::repr(*flat) == nn::repr(*nn::Flatten(2)));
  CHECK(flat(Variable(tg::zeros(Shape{2, 3, 4, 5}))).shape() == Shape{2, 3, 20});
}

TEST_CASE("BatchNorm2dOptions") {
  nn::BatchNorm2d built(nn::BatchNorm2dOptions(16).momentum(0.01).eps(1e-3));
  nn::BatchNorm2d designated(16, {.eps = 1e-3, .momentum = 0.01});
  check_same(built, designated);
  CHECK(nn::repr(*built) ==
        "BatchNorm2d(16, eps=0.001, momentum=0.01, affine=True, track_running_stats=True)");
  CHECK(built->options.num_features() == 16);
  CHECK(designated->options.num_features() == 16);
  CHECK(built->options.momentum() == 0.01);
  CHECK(built->options.eps() == 1e-3);

  nn::BatchNorm1d none(nn::BatchNorm1dOptions(4).momentum(std::nullopt).affine(false));
  nn::BatchNorm1d none_d(4, {.momentum = std::nullopt, .affine = false});
  check_same(none, none_d);
  CHECK_FALSE(none->options.momentum().has_value());
  CHECK(none->parameters().empty());
}

TEST_CASE("Pooling options") {
  nn::MaxPool2d max_b(nn::MaxPool2dOptions(3).stride(2).padding(1));
  nn::MaxPool2d max_d(3, 2, 1);
  check_same(max_b, max_d);
  nn::MaxPool2d max_designated({.kernel_size = 3, .stride = 2, .padding = 1});
  check_same(max_designated, max_d);
  CHECK(nn::MaxPool2dOptions(3).stride(2).stride() == nn::Size2(2));
  // A non-square kernel alone: a Size2 (a lone braced pair would set kernel_size and stride).
  CHECK(nn::MaxPool2dOptions(nn::Size2(2, 3)).kernel_size().w == 3);
  CHECK(nn::MaxPool2dOptions({{2, 3}}).kernel_size() == nn::Size2(2, 3));
  // stride 0: the kernel size, as LibTorch's default and PyTorch's stride=None.
  CHECK(nn::repr(*nn::MaxPool2d(nn::MaxPool2dOptions(2))) == nn::repr(*nn::MaxPool2d(2)));

  nn::MinPool2d min_b(nn::MinPool2dOptions(2).ceil_mode(true));
  check_same(min_b, nn::MinPool2d(2, 0, 0, true));

  nn::AvgPool2d avg_b(nn::AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false));
  nn::AvgPool2d avg_d(3, 1, 1, false, false);
  check_same(avg_b, avg_d);
  const Variable x(tg::randn(Shape{1, 2, 5, 5}));
  tg::test::check_close(avg_b(x).value(), avg_d(x).value());

  nn::AdaptiveAvgPool2d ad(nn::AdaptiveAvgPool2dOptions({1, 1}));
  check_same(ad, nn::AdaptiveAvgPool2d(nn::Size2(1, 1)));
  CHECK(ad(x).shape() == Shape{1, 2, 1, 1});
}

TEST_CASE("Activation and dropout options") {
  // The porter's line from the issue.
  nn::LeakyReLU leaky(nn::LeakyReLUOptions().negative_slope(0.2));
  check_same(leaky, nn::LeakyReLU(0.2));
  CHECK(leaky->negative_slope == doctest::Approx(0.2));
  CHECK(nn::LeakyReLUOptions().negative_slope() == 0.01);

  nn::Softmax sm(nn::SoftmaxOptions(1));
  check_same(sm, nn::Softmax(1));
  nn::LogSoftmax lsm(nn::LogSoftmaxOptions(-1));
  check_same(lsm, nn::LogSoftmax(-1));
  CHECK(nn::SoftmaxOptions(1).dim() == 1);

  nn::Dropout drop(nn::DropoutOptions(0.2));
  check_same(drop, nn::Dropout(0.2));
  nn::Dropout drop2(nn::DropoutOptions().p(0.3));
  CHECK(drop2->p == doctest::Approx(0.3));
  CHECK(nn::DropoutOptions().p() == 0.5);
}

TEST_CASE("Arg: reads, writes and copies like its value") {
  nn::Conv2dOptions o{.padding = 1};
  nn::Conv2dOptions copy = o;  // the struct copies; setters of the copy return the copy
  CHECK(&copy.stride(3) == &copy);
  CHECK(copy.stride.h == 3);
  CHECK(o.stride.h == 1);
  o.groups = 4;
  o.groups *= 2;
  CHECK(o.groups == 8);
  o.kernel_size = {3, 5};
  CHECK(o.kernel_size.str() == "(3, 5)");
  const nn::Size2 s = o.padding;
  CHECK(s.h == 1);
  auto value = o.stride();  // the plain value
  static_assert(std::is_same_v<decltype(value), nn::Size2>);
}

// A user module as LibTorch writes one.
struct NetImpl : nn::Module {
  nn::Linear fc1{nullptr}, fc2{nullptr};
  Variable scale;
  NetImpl(std::int64_t in, std::int64_t out) {
    fc1 = register_module("fc1", nn::Linear(in, 8));
    fc2 = register_module("fc2", nn::Linear(nn::LinearOptions(8, out).bias(false)));
    scale = register_parameter("scale", tg::ones(Shape{1}));
  }
  Variable forward(const Variable& x) { return fc2(tg::relu(fc1(x))) * scale; }
};
TORCH_MODULE(Net);

struct PairImpl : nn::Module {
  PairImpl() = default;
  Variable forward(const Variable& a, const Variable& b) { return a + b; }
};
TG_MODULE(Pair);

struct OuterImpl : nn::Module {
  Net net{nullptr};
  OuterImpl() { net = register_module("net", Net(4, 2)); }
  Variable forward(const Variable& x) { return net(x); }
};
TORCH_MODULE(Outer);

TEST_CASE("TORCH_MODULE: held, called, registered, and put in a Sequential") {
  Net net(4, 3);
  const Variable x(tg::randn(Shape{5, 4}));
  const Variable y = net(x);
  CHECK(y.shape() == Shape{5, 3});
  tg::test::check_close(net->forward(x).value(), y.value());
  Net same = net;  // copies share the module
  CHECK(same.ptr() == net.ptr());
  CHECK(net->parameters().size() == 4);

  Net empty = nullptr;
  CHECK(empty.is_empty());

  Pair pair;  // default-constructed Impl
  tg::test::check_close(pair(x, x).value(), (x + x).value());

  Outer outer;
  CHECK(outer(x).shape() == Shape{5, 2});
  std::vector<std::string> names;
  for (const auto& [name, p] : outer->named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"net.scale", "net.fc1.weight", "net.fc1.bias",
                                          "net.fc2.weight"});

  nn::Sequential seq(net, nn::Functional(tg::relu), nn::Linear(3, 1));
  CHECK(seq(x).shape() == Shape{5, 1});
  CHECK(seq->parameters().size() == 6);
  CHECK(seq[0].name() == "NetImpl");
}

TEST_CASE("Functional: a function, with or without extra arguments, in Sequential") {
  const Variable x(tg::randn(Shape{3, 4}));
  nn::Functional relu(tg::relu);
  tg::test::check_close(relu(x).value(), tg::relu(x).value());
  nn::Functional leaky(tg::leaky_relu, 0.2f);
  tg::test::check_close(leaky(x).value(), tg::leaky_relu(x, 0.2f).value());
  nn::Functional lsm(tg::log_softmax, 1);
  tg::test::check_close(lsm(x).value(), tg::log_softmax(x, 1).value());

  nn::Sequential seq(nn::Linear(4, 4), nn::Functional(tg::leaky_relu, 0.2f),
                     nn::Functional(tg::log_softmax, 1));
  CHECK(seq->size() == 3);
  CHECK(seq[1].name() == "Functional");
  CHECK(seq(x).shape() == Shape{3, 4});
}

}  // namespace
