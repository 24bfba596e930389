// Layers: output shapes, hand-worked values, train/eval behaviour, gradcheck through modules.
#include <doctest/doctest.h>

#include <cmath>

#include <tapegrad/nn/nn.hpp>

namespace {

using tg::Shape;
using tg::Tensor;
using tg::Variable;
namespace nn = tg::nn;

Variable arange_image(std::size_t h, std::size_t w) {
  return tg::arange(static_cast<std::int64_t>(h * w))
      .view({1, 1, static_cast<std::int64_t>(h), static_cast<std::int64_t>(w)});
}

void check_close(const Tensor& a, const Tensor& b, float tol = 1e-5f) {
  REQUIRE(a.shape() == b.shape());
  for (std::size_t i = 0; i < a.size(); ++i)
    CHECK(a.data()[i] == doctest::Approx(b.data()[i]).epsilon(tol));
}

}  // namespace

TEST_CASE("Linear computes x W^T + b and checks its input") {
  nn::Linear fc(3, 2);
  fc->weight.value() = Tensor{{1, 2, 3}, {4, 5, 6}};
  fc->bias.value() = Tensor{0.5f, -0.5f};
  auto y = fc(Variable(Tensor{{1, 1, 1}, {1, 0, -1}}));
  check_close(y.value(), Tensor{{6.5f, 14.5f}, {-1.5f, -2.5f}});
  CHECK(nn::Linear(3, 2, false)->bias.defined() == false);
  CHECK(nn::Linear(3, 2, false)->parameters().size() == 1);
  CHECK_THROWS_WITH_AS(fc(tg::zeros(Shape{4, 5})),
                       doctest::Contains("Linear: expected input of shape [..., 3], got [4, 5]"),
                       tg::Error);
  CHECK_THROWS_AS(nn::Linear(0, 2), tg::Error);
  // Images fed straight to a classifier: the message says to flatten them.
  CHECK_THROWS_WITH_AS(nn::Linear(784, 10)(tg::zeros(Shape{4, 1, 28, 28})),
                       doctest::Contains("got [4, 1, 28, 28]; flatten each sample first: "
                                         "x.flatten(1) gives [4, 784]"),
                       tg::Error);
}

TEST_CASE("Conv2d output shapes follow (H + 2p - d(k-1) - 1) / s + 1") {
  struct Case {
    nn::Conv2d conv;
    Shape in, out;
  };
  Case cases[] = {
      {nn::Conv2d(3, 5, 5), {2, 3, 32, 32}, {2, 5, 28, 28}},
      {nn::Conv2d(3, 8, 3, {.stride = 2, .padding = 1}), {2, 3, 9, 9}, {2, 8, 5, 5}},
      {nn::Conv2d(3, 8, {3, 5}, {.padding = {1, 2}}), {1, 3, 8, 8}, {1, 8, 8, 8}},
      {nn::Conv2d(3, 4, 3, {.dilation = 2}), {1, 3, 9, 9}, {1, 4, 5, 5}},
      {nn::Conv2d(4, 6, 3, {.stride = {2, 1}, .groups = 2, .bias = false}),
       {1, 4, 7, 7},
       {1, 6, 3, 5}},
  };
  for (auto& c : cases) CHECK(c.conv(tg::zeros(c.in)).shape() == c.out);
  CHECK(cases[4].conv->weight.shape() == Shape{6, 2, 3, 3});
  CHECK_FALSE(cases[4].conv->bias.defined());
}

TEST_CASE("Conv2d computes a cross-correlation and checks channels and options") {
  nn::Conv2d conv(1, 1, 2, {.bias = false});
  conv->weight.value().fill(1.0f);
  check_close(conv(arange_image(3, 3)).value(), Tensor{{{{8, 12}, {20, 24}}}});
  CHECK_THROWS_WITH_AS(
      nn::Conv2d(3, 4, 3)(tg::zeros(Shape{1, 1, 5, 5})),
      doctest::Contains(
          "Conv2d: expected input of shape [N, C, H, W] with C = 3, got [1, 1, 5, 5]"),
      tg::Error);
  CHECK_THROWS_WITH_AS(nn::Conv2d(3, 4, 3, {.groups = 2}), doctest::Contains("divisible by groups"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(nn::Conv2d(3, 4, 0), doctest::Contains("positive kernel_size"), tg::Error);
  // One image without its batch dimension: the message says how to add it.
  CHECK_THROWS_WITH_AS(nn::Conv2d(3, 4, 3)(tg::zeros(Shape{3, 8, 8})),
                       doctest::Contains("got [3, 8, 8]; for one image [C, H, W] add the batch "
                                         "dimension: x.view({1, C, H, W})"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(tg::conv2d(tg::zeros(Shape{3, 8, 8}), tg::zeros(Shape{4, 3, 3, 3})),
                       doctest::Contains("add the batch dimension"), tg::Error);
  CHECK_THROWS_WITH_AS(nn::Conv2d(3, 4, 3, {.stride = 0}), doctest::Contains("positive stride"),
                       tg::Error);
}

TEST_CASE("pooling layers: values on a 4x4 ramp and output shapes") {
  auto x = arange_image(4, 4);
  check_close(nn::MaxPool2d(2)(x).value(), Tensor{{{{5, 7}, {13, 15}}}});
  check_close(nn::MinPool2d(2)(x).value(), Tensor{{{{0, 2}, {8, 10}}}});
  check_close(nn::AvgPool2d(2)(x).value(), Tensor{{{{2.5f, 4.5f}, {10.5f, 12.5f}}}});
  auto global = nn::AdaptiveAvgPool2d({1, 1})(x);
  CHECK(global.shape() == Shape{1, 1, 1, 1});
  CHECK(global.value()(0, 0, 0, 0) == 7.5f);
  CHECK(nn::MaxPool2d(3, 2, 1)(tg::zeros(Shape{1, 2, 5, 5})).shape() == Shape{1, 2, 3, 3});
  CHECK(nn::MaxPool2d(2, 2, 0, true)(tg::zeros(Shape{1, 2, 5, 5})).shape() == Shape{1, 2, 3, 3});
  CHECK(nn::MaxPool2d({2, 1}, {1, 1})(tg::zeros(Shape{1, 2, 4, 4})).shape() == Shape{1, 2, 3, 4});
  CHECK(nn::AvgPool2d({2, 1})(tg::zeros(Shape{1, 2, 4, 4})).shape() == Shape{1, 2, 2, 4});
  CHECK(nn::AdaptiveAvgPool2d({2, 3})(tg::zeros(Shape{2, 3, 5, 7})).shape() == Shape{2, 3, 2, 3});
  CHECK_THROWS_WITH_AS(
      nn::MaxPool2d(2)(tg::zeros(Shape{4, 4})),
      doctest::Contains("MaxPool2d: expected input of shape [N, C, H, W], got [4, 4]"), tg::Error);
  CHECK_THROWS_WITH_AS(nn::MaxPool2d(2, 2, 2), doctest::Contains("padding <= kernel_size / 2"),
                       tg::Error);
  // A literal 0 is a kernel size (it was ambiguous with the empty holder's null pointer).
  CHECK_THROWS_WITH_AS([] { nn::MaxPool2d p(0); }(),
                       doctest::Contains("MaxPool2d: expected a positive kernel_size, got (0, 0)"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(nn::AvgPool2d(0), doctest::Contains("positive kernel_size"), tg::Error);
  CHECK_THROWS_WITH_AS(nn::MinPool2d(0), doctest::Contains("positive kernel_size"), tg::Error);
  CHECK_THROWS_WITH_AS(nn::AdaptiveAvgPool2d(0), doctest::Contains("positive output_size"),
                       tg::Error);
  CHECK(nn::MaxPool2d(nullptr).is_empty());
}

TEST_CASE("activations, Softmax, Flatten and Identity") {
  Variable x(Tensor{{-1.0f, 2.0f}, {0.5f, -3.0f}});
  check_close(nn::ReLU()(x).value(), Tensor{{0, 2}, {0.5f, 0}});
  check_close(nn::LeakyReLU(0.1)(x).value(), Tensor{{-0.1f, 2}, {0.5f, -0.3f}});
  check_close(nn::Sigmoid()(x).value(),
              Tensor{{1 / (1 + std::exp(1.0f)), 1 / (1 + std::exp(-2.0f))},
                     {1 / (1 + std::exp(-0.5f)), 1 / (1 + std::exp(3.0f))}});
  check_close(nn::Tanh()(x).value(),
              Tensor{{std::tanh(-1.0f), std::tanh(2.0f)}, {std::tanh(0.5f), std::tanh(-3.0f)}});
  auto s = nn::Softmax(1)(x).value();
  CHECK(s(0, 0) + s(0, 1) == doctest::Approx(1.0));
  CHECK(s(0, 1) / s(0, 0) == doctest::Approx(std::exp(3.0)));
  auto ls = nn::LogSoftmax(1)(x).value();
  CHECK(ls(1, 0) == doctest::Approx(std::log(s(1, 0))));
  CHECK(nn::Flatten()(tg::zeros(Shape{2, 3, 4, 5})).shape() == Shape{2, 60});
  CHECK(nn::Flatten(2)(tg::zeros(Shape{2, 3, 4, 5})).shape() == Shape{2, 3, 20});
  CHECK(nn::Identity()(x).node() == x.node());
}

TEST_CASE("Dropout zeroes and rescales in training only") {
  tg::manual_seed(4);
  nn::Dropout drop(0.5);
  auto x = tg::ones(Shape{4000});
  auto y = drop(x).value();
  std::size_t zeros = 0;
  for (float v : y) {
    CHECK((v == 0.0f || v == 2.0f));
    zeros += v == 0.0f;
  }
  CHECK(zeros > 1800);  // ~2000 +- 32 (binomial), so this is > 6 standard deviations
  CHECK(zeros < 2200);
  drop->eval();
  CHECK(drop(x).value() == x.value());
  drop->train();
  CHECK(nn::Dropout(0.0)(x).value() == x.value());
  CHECK(nn::Dropout(1.0)(x).value() == tg::zeros(Shape{4000}).value());
  CHECK_THROWS_WITH_AS(nn::Dropout(1.5),
                       doctest::Contains("Dropout: expected a probability p in [0, 1], got 1.5"),
                       tg::Error);
}

TEST_CASE("BatchNorm2d: batch statistics and running statistics with known numbers") {
  nn::BatchNorm2d bn(1);
  Variable x(Tensor{{{{1, 2}}}, {{{3, 4}}}});  // [2, 1, 1, 2]: mean 2.5, var 1.25 (unbiased 5/3)
  auto y = bn(x).value();
  const float sd = std::sqrt(1.25f + 1e-5f);
  check_close(y, Tensor{{{{-1.5f / sd, -0.5f / sd}}}, {{{0.5f / sd, 1.5f / sd}}}});
  CHECK(bn->running_mean.value()(0) == doctest::Approx(0.25));
  CHECK(bn->running_var.value()(0) == doctest::Approx(0.9 + 0.1 * 5.0 / 3.0));
  CHECK(bn->num_batches_tracked.value()() == 1.0f);
  bn->eval();
  const float eval_sd = std::sqrt(bn->running_var.value()(0) + 1e-5f);
  check_close(bn(x).value(), (x.value() - 0.25f) / eval_sd);
  CHECK(bn->num_batches_tracked.value()() == 1.0f);  // eval leaves the statistics alone
  CHECK_THROWS_WITH_AS(
      bn(tg::zeros(Shape{2, 3, 4, 4})),
      doctest::Contains(
          "BatchNorm2d: expected input of shape [N, C, H, W] with C = 1, got [2, 3, 4, 4]"),
      tg::Error);
}

TEST_CASE("BatchNorm2d::forward_relu is relu(forward), with the same running statistics") {
  nn::BatchNorm2d plain(3), fused(3);
  const Variable x(tg::randn(Shape{4, 3, 5, 5}));
  for (int step = 0; step < 2; ++step) {
    check_close(fused->forward_relu(x).value(), tg::relu(plain(x)).value());
    check_close(fused->running_mean.value(), plain->running_mean.value(), 1e-7f);
    check_close(fused->running_var.value(), plain->running_var.value(), 1e-7f);
    CHECK(fused->num_batches_tracked.value()() == plain->num_batches_tracked.value()());
  }
  fused->eval();
  plain->eval();
  check_close(fused->forward_relu(x).value(), tg::relu(plain(x)).value());
}

TEST_CASE("BatchNorm: momentum None averages, no tracking uses batch statistics, 1d shapes") {
  nn::BatchNorm2d cumulative(1, {.momentum = std::nullopt});
  Variable x(Tensor{{{{1, 2}}}, {{{3, 4}}}});
  cumulative(x);
  cumulative(Variable(x.value() + 1.0f));
  CHECK(cumulative->running_mean.value()(0) == doctest::Approx(3.0));  // (2.5 + 3.5) / 2
  CHECK(cumulative->num_batches_tracked.value()() == 2.0f);

  nn::BatchNorm2d untracked(1, {.affine = false, .track_running_stats = false});
  CHECK(untracked->parameters().empty());
  CHECK(untracked->buffers().empty());
  untracked->eval();
  check_close(untracked(x).value(), nn::BatchNorm2d(1)(x).value());  // batch statistics in eval

  nn::BatchNorm1d bn1(3);
  CHECK(bn1(tg::randn(Shape{4, 3})).shape() == Shape{4, 3});
  auto seq = tg::randn(Shape{4, 3, 5});
  auto y = bn1(seq).value();
  CHECK(y.shape() == Shape{4, 3, 5});
  double mean = 0;
  for (std::size_t n = 0; n < 4; ++n)
    for (std::size_t l = 0; l < 5; ++l) mean += y(n, 1, l);
  CHECK(mean / 20 == doctest::Approx(0.0).epsilon(1e-5));
  CHECK_THROWS_AS(bn1(tg::zeros(Shape{4, 3, 2, 2})), tg::Error);
}

TEST_CASE("gradcheck through Linear, Conv2d and a BasicBlock (train and eval)") {
  tg::manual_seed(5);
  nn::Linear fc(3, 2);
  auto x = tg::randn(Shape{4, 3}, true);
  auto r = tg::gradcheck([&](const std::vector<Variable>& in) { return fc(in[0]); },
                         {x, fc->weight, fc->bias});
  CHECK_MESSAGE(r.ok, r.message);

  nn::Conv2d conv(2, 3, {3, 2}, {.stride = {1, 2}, .padding = 1});
  auto img = tg::randn(Shape{2, 2, 5, 4}, true);
  r = tg::gradcheck([&](const std::vector<Variable>& in) { return conv(in[0]); },
                    {img, conv->weight, conv->bias});
  CHECK_MESSAGE(r.ok, r.message);

  nn::BasicBlock block(2, 4, 2);
  auto input = tg::randn(Shape{2, 2, 4, 4}, true);
  std::vector<Variable> inputs{input};
  for (auto& p : block->parameters()) inputs.push_back(p);
  auto fn = [&](const std::vector<Variable>& in) { return block(in[0]); };
  r = tg::gradcheck(fn, inputs, {.eps = 1e-3, .atol = 1e-2});
  CHECK_MESSAGE(r.ok, r.message);
  block->eval();
  r = tg::gradcheck(fn, inputs, {.eps = 1e-3, .atol = 1e-2});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("layer sizes whose element count overflows are a tg::Error, not a 0-element parameter") {
  const std::int64_t huge = std::int64_t{1} << 62;
  // 2^62 x 4 elements wrap to 0 in 64 bits; 2^62 floats are 2^64 bytes.
  CHECK_THROWS_WITH_AS(nn::Linear(huge, 4), doctest::Contains("Linear weight: expected a shape"),
                       tg::Error);
  CHECK_THROWS_AS(nn::Linear(2048, huge), tg::Error);
  CHECK_THROWS_AS(nn::Linear(std::int64_t{1} << 31, std::int64_t{1} << 31), tg::Error);
  CHECK_THROWS_WITH_AS(nn::Conv2d(huge, 4, 3), doctest::Contains("Conv2d weight"), tg::Error);
  CHECK_THROWS_AS(nn::Conv2d(3, huge, 1), tg::Error);
  CHECK_THROWS_AS(nn::Conv2d(3, 8, nn::Size2(std::int64_t{1} << 40, std::int64_t{1} << 40)), tg::Error);
  CHECK_THROWS_WITH_AS(nn::BatchNorm2d{huge}, doctest::Contains("BatchNorm2d"), tg::Error);
  CHECK_THROWS_AS(nn::BatchNorm1d{huge}, tg::Error);
  // A size that fits 64 bits but no machine's memory (2^52 bytes): a tg::Error, not bad_alloc.
  CHECK_THROWS_WITH_AS(nn::Linear(std::int64_t{1} << 25, std::int64_t{1} << 25),
                       doctest::Contains("cannot allocate"), tg::Error);
}

TEST_CASE("checked shapes: negative sizes, overflow with a zero dimension, the limit itself") {
  CHECK_THROWS_WITH_AS(tg::checked_shape({3, -1}, "op"), doctest::Contains("op: expected sizes >= 0"),
                       tg::Error);
  // The zero makes the tensor empty, but xtensor's strides still multiply the other dimensions.
  const std::size_t big = std::size_t{1} << 21;
  CHECK_THROWS_AS(tg::checked_numel(Shape{0, big, big, big}, "op"), tg::Error);
  CHECK(tg::checked_numel(Shape{0, big, big}, "op") == 0);
  CHECK(tg::checked_numel(Shape{tg::kMaxNumel}, "op") == tg::kMaxNumel);
  CHECK_THROWS_AS(tg::checked_numel(Shape{tg::kMaxNumel + 1}, "op"), tg::Error);
  CHECK(tg::checked_numel(Shape{}, "op") == 1);
  CHECK(tg::checked_shape({2, 3}, "op") == Shape{2, 3});
}
