// LeNet-5 against the same network written in PyTorch (golden/make_golden.py), and loaded from
// the safetensors file PyTorch's state dict was written to.
#include <tapegrad/vision/lenet.hpp>

#include <tapegrad/nn/serialize.hpp>
#include <tapegrad/nn/summary.hpp>
#include "zoo_test_util.hpp"

namespace tg::vision::models {

TEST_CASE("lenet5: the paper's layer names, 61,706 parameters, PyTorch's logits and gradients") {
  const auto g = test::zoo::read_golden("lenet5");
  auto net = lenet5(10);
  CHECK(net.num_parameters() == 61706);
  CHECK(test::zoo::check_parity(net, g) >= 8);
}

TEST_CASE("lenet5: tg::nn::load reads the state dict PyTorch wrote, strict keys") {
  const auto g = test::zoo::read_golden("lenet5");
  auto net = lenet5(10);
  nn::load(net, std::string(TAPEGRAD_VISION_GOLDEN_DIR) + "/lenet5.weights.safetensors");
  const Tensor x = test::zoo::golden_input(g);
  net.eval();
  NoGradGuard no_grad;
  test::zoo::check_logits(net.forward(Variable(x)).value(), g.at("logits_eval"));
  auto wider = lenet5(7);  // output.weight [7, 84]: a shape mismatch is an error
  CHECK_THROWS_AS(
      nn::load(wider, std::string(TAPEGRAD_VISION_GOLDEN_DIR) + "/lenet5.weights.safetensors"),
      Error);
}

TEST_CASE("lenet5: wrong options and inputs say what was expected") {
  CHECK_THROWS_WITH_AS(lenet5(0), doctest::Contains("lenet5: expected a positive num_classes"),
                       Error);
  auto net = lenet5();
  CHECK_THROWS_WITH_AS(net.forward(Variable(zeros({1, 1, 28, 28}))),
                       doctest::Contains("expected input [N, 1, 32, 32]"), Error);
}

}  // namespace tg::vision::models

namespace tg::vision::models {

TEST_CASE("lenet5: summary gives the parameter count and multiply-adds of each layer") {
  auto net = lenet5();
  const auto s = nn::summarize(net, {1, 1, 32, 32});
  CHECK(s.total_parameters == 61706);
  // c1 28*28*6*25 + c3 10*10*16*150 + c5 120*400 + f6 84*120 + output 10*84.
  CHECK(s.total_multiply_adds == 117600 + 240000 + 48000 + 10080 + 840);
  CHECK(s.str().find("c5 (Conv2d)") != std::string::npos);
}

}  // namespace tg::vision::models
