// The layers and loss modules a LibTorch port needs: ConvTranspose2d (shapes, PyTorch's
// default initialisation bounds, repr), Dropout2d (whole channels, scaling, eval identity),
// Upsample, BCELoss / SmoothL1Loss / HuberLoss / weighted NLLLoss and CrossEntropyLoss.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <tapegrad/nn/nn.hpp>

using namespace tg;

namespace test {

// Values uniform in [lo, hi) from a generator seeded with `seed`.
Tensor uniform(const Shape& shape, float lo, float hi, std::uint64_t seed) {
  Generator gen(seed);
  Tensor t = empty_tensor(shape);
  for (float& v : t) v = lo + (hi - lo) * gen.uniform();
  return t;
}

}  // namespace test

TEST_CASE("ConvTranspose2d: DCGAN's generator shapes, weight layout and PyTorch's init") {
  nn::ConvTranspose2d up1(100, 256, 4, {.bias = false});
  nn::ConvTranspose2d up2(256, 128, 3, {.stride = 2, .padding = 1, .bias = false});
  nn::ConvTranspose2d up3(128, 64, 4, {.stride = 2, .padding = 1, .bias = false});
  nn::ConvTranspose2d up4(64, 1, 4, {.stride = 2, .padding = 1, .bias = false});
  Variable z(test::uniform({2, 100, 1, 1}, -1, 1, 1));
  Variable y = up1(z);
  CHECK(y.shape() == Shape{2, 256, 4, 4});
  y = up2(y);
  CHECK(y.shape() == Shape{2, 128, 7, 7});
  y = up3(y);
  CHECK(y.shape() == Shape{2, 64, 14, 14});
  y = up4(y);
  CHECK(y.shape() == Shape{2, 1, 28, 28});
  CHECK(up2->weight.shape() == Shape{256, 128, 3, 3});
  CHECK_FALSE(up2->bias.defined());
  CHECK(up2->parameters().size() == 1);
  // PyTorch: kaiming_uniform_(a = sqrt(5)) with fan_in = weight.size(1) * kH * kW.
  nn::ConvTranspose2d g(8, 6, 3, {.groups = 2});
  CHECK(g->weight.shape() == Shape{8, 3, 3, 3});
  const double bound = 1.0 / std::sqrt(3.0 * 9.0);
  double max_abs = 0;
  for (float v : g->weight.value()) max_abs = std::max(max_abs, double(std::abs(v)));
  for (float v : g->bias.value()) max_abs = std::max(max_abs, double(std::abs(v)));
  CHECK(max_abs <= bound);
  CHECK(max_abs > 0.8 * bound);
  CHECK(g->extra_repr() == "8, 6, kernel_size=(3, 3), stride=(1, 1), groups=2");
  nn::ConvTranspose2d o(4, 2, {3, 5}, {.stride = 2, .padding = 1, .output_padding = 1, .dilation = 2});
  CHECK(o->extra_repr() ==
        "4, 2, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), dilation=(2, 2), output_padding=(1, 1)");
  CHECK(o(Variable(filled({1, 4, 3, 3}, 1.0f))).shape() == Shape{1, 2, 8, 12});
  CHECK(up4->multiply_adds({2, 64, 14, 14}, {2, 1, 28, 28}) == 2ull * 64 * 14 * 14 * 16);
}

TEST_CASE("ConvTranspose2d: bad arguments and inputs give tg::Error") {
  CHECK_THROWS_WITH_AS(nn::ConvTranspose2d(4, 2, 3, {.stride = 2, .output_padding = 2}),
                       doctest::Contains("output_padding < stride"), Error);
  CHECK_THROWS_WITH_AS(nn::ConvTranspose2d(4, 3, 3, {.groups = 2}),
                       doctest::Contains("divisible by groups"), Error);
  CHECK_THROWS_AS(nn::ConvTranspose2d(0, 3, 3), Error);
  nn::ConvTranspose2d up(4, 2, 3);
  CHECK_THROWS_WITH_AS(up(Variable(filled({4, 5, 5}, 1.0f))),
                       doctest::Contains("add the batch dimension"), Error);
  CHECK_THROWS_WITH_AS(up(Variable(filled({1, 3, 5, 5}, 1.0f))), doctest::Contains("C = 4"), Error);
}

TEST_CASE("Dropout2d zeroes whole channels, scales the rest by 1/(1-p), and is the identity in eval") {
  manual_seed(3);
  nn::Dropout2d drop(0.25);
  const Tensor ones = filled({16, 32, 3, 4}, 1.0f);
  Variable x(ones, true);
  Variable y = drop(x);
  std::size_t dropped = 0;
  for (std::size_t ch = 0; ch < 16 * 32; ++ch) {
    const float first = y.value().data()[ch * 12];
    CHECK((first == 0.0f || first == doctest::Approx(1.0f / 0.75f)));
    for (std::size_t i = 1; i < 12; ++i) CHECK(y.value().data()[ch * 12 + i] == first);
    dropped += first == 0.0f;
  }
  CHECK(dropped > 512 * 0.18);  // ~128 of 512 expected
  CHECK(dropped < 512 * 0.32);
  y.backward(ones);
  for (std::size_t i = 0; i < y.numel(); ++i) CHECK(x.grad().data()[i] == y.value().data()[i]);
  drop->eval();
  CHECK(drop(x).value() == ones);
  CHECK(drop->extra_repr() == "p=0.25, inplace=False");
  drop->train();
  nn::Dropout2d all({.p = 1.0});
  Variable z = all(x);
  for (float v : z.value()) CHECK(v == 0.0f);
  CHECK_THROWS_WITH_AS(nn::Dropout2d(1.5), doctest::Contains("[0, 1]"), Error);
  CHECK_THROWS_WITH_AS(drop(Variable(filled({3, 4, 4}, 1.0f))),
                       doctest::Contains("add the batch dimension"), Error);
  const GradcheckResult r = gradcheck(
      [](const std::vector<Variable>& v) {
        manual_seed(11);  // the same mask on every call
        return dropout2d(v[0], 0.5f, true);
      },
      {Variable(test::uniform({2, 3, 2, 2}, -1, 1, 5), true)});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("Upsample wraps interpolate and prints as PyTorch") {
  nn::Upsample up({.scale_factor = {2.0}});
  CHECK(up(Variable(filled({1, 3, 4, 5}, 1.0f))).shape() == Shape{1, 3, 8, 10});
  CHECK(up->extra_repr() == "scale_factor=2.0, mode='nearest'");
  nn::Upsample bi({.size = {5, 7}, .mode = kBilinear, .align_corners = true});
  CHECK(bi(Variable(filled({2, 1, 3, 4}, 2.0f))).shape() == Shape{2, 1, 5, 7});
  CHECK(bi->extra_repr() == "size=(5, 7), mode='bilinear'");
  CHECK_THROWS_WITH_AS(nn::Upsample(nn::UpsampleOptions{}), doctest::Contains("neither"), Error);
  CHECK_THROWS_WITH_AS(nn::Upsample({.size = {4}, .align_corners = false}),
                       doctest::Contains("bilinear"), Error);
}

TEST_CASE("loss modules pass their options on") {
  const Variable p(test::uniform({3, 4}, 0.05f, 0.95f, 1)), t(test::uniform({3, 4}, 0, 1, 2));
  const Tensor w = test::uniform({4}, 0.5f, 2.0f, 3);
  CHECK(nn::BCELoss({.weight = w})(p, t).item() ==
        doctest::Approx(binary_cross_entropy(p, t, {.weight = w}).item()));
  CHECK(nn::BCELoss({.reduction = Reduction::None})(p, t).shape() == Shape{3, 4});
  CHECK(nn::SmoothL1Loss({.beta = 0.3})(p, t).item() ==
        doctest::Approx(smooth_l1_loss(p, t, {.beta = 0.3}).item()));
  CHECK(nn::HuberLoss({.reduction = Reduction::Sum, .delta = 0.2})(p, t).item() ==
        doctest::Approx(huber_loss(p, t, {.reduction = Reduction::Sum, .delta = 0.2}).item()));
  const Labels y = {0, 3, 2};
  CHECK(nn::CrossEntropyLoss({.weight = w, .ignore_index = 3})(p, y).item() ==
        doctest::Approx(cross_entropy(p, y, {.weight = w, .ignore_index = 3}).item()));
  CHECK(nn::NLLLoss({.weight = w, .ignore_index = 0})(p, y).item() ==
        doctest::Approx(nll_loss(p, y, {.weight = w, .ignore_index = 0}).item()));
  CHECK(nn::NLLLoss(Reduction::Sum)(p, y).item() == doctest::Approx(nll_loss(p, y, Reduction::Sum).item()));
  CHECK(nn::BCELoss().name() == "BCELoss");
  CHECK(nn::HuberLoss().name() == "HuberLoss");
  CHECK(nn::SmoothL1Loss().name() == "SmoothL1Loss");
}
