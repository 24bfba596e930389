// Loss modules: the functional losses with their options, printed as PyTorch prints them.
#include <doctest/doctest.h>

#include <sstream>

#include <tapegrad/nn/nn.hpp>

namespace {
namespace nn = tg::nn;
using tg::Shape;
using tg::Tensor;
using tg::Variable;
}  // namespace

TEST_CASE("loss modules equal the functional losses with the same options") {
  tg::manual_seed(41);
  auto logits = tg::randn(Shape{4, 3});
  tg::Labels labels = {0, 2, 1, 2};
  nn::CrossEntropyLoss smoothed({.label_smoothing = 0.1f});
  CHECK(smoothed(logits, labels).item() ==
        tg::cross_entropy(logits, labels, {.label_smoothing = 0.1f}).item());
  CHECK(nn::CrossEntropyLoss()(logits, labels).item() ==
        nn::NLLLoss()(tg::log_softmax(logits, 1), labels).item());
  auto target = tg::randn(Shape{4, 3});
  CHECK(nn::MSELoss(tg::Reduction::Sum)(logits, target).item() ==
        doctest::Approx(tg::sum((logits - target) * (logits - target)).item()));
  CHECK(nn::BCEWithLogitsLoss()(logits, tg::zeros(Shape{4, 3})).item() ==
        tg::binary_cross_entropy_with_logits(logits, tg::zeros(Shape{4, 3})).item());
  std::ostringstream out;
  out << smoothed;
  CHECK(out.str() == "CrossEntropyLoss()");
}
