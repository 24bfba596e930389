// GoogLeNet against torchvision 0.14 on the same weights (golden/make_golden.py), at its
// smallest input (15x15), with both auxiliary classifiers: loss = main + 0.3 (aux1 + aux2).
#include <tapegrad/vision/googlenet.hpp>

#include <tapegrad/nn/summary.hpp>

#include "zoo_test_util.hpp"

namespace tg::vision::models {

namespace {
GoogLeNet parity_model() {
  return googlenet({.num_classes = 10, .aux_logits = true, .dropout = 0.0, .dropout_aux = 0.0});
}
}  // namespace

TEST_CASE("googlenet: torchvision's names, logits, auxiliary logits and gradients") {
  const auto g = test::zoo::read_golden("googlenet");
  auto net = parity_model();
  bool aux_checked = false;
  const auto compared = test::zoo::check_parity(
      net, g, [&](Variable x) -> Variable { return net.forward(x); },
      [&](Variable x, const Labels& labels) {
        const GoogLeNetOutputs train_out = net.forward(x);
        // Before backward, which may reuse the buffers of the values it has gone through.
        test::zoo::check_logits(train_out.aux_logits1.value(), g.at("aux_logits1_train"));
        test::zoo::check_logits(train_out.aux_logits2.value(), g.at("aux_logits2_train"));
        aux_checked = true;
        Variable loss = cross_entropy(train_out.logits, labels) +
                        0.3f * (cross_entropy(train_out.aux_logits1, labels) +
                                cross_entropy(train_out.aux_logits2, labels));
        return test::zoo::TrainStep{train_out.logits, loss};
      });
  CHECK(compared >= 10);
  CHECK(aux_checked);
  CHECK(g.archive.tensors.count("grad/aux1.fc2.bias") == 1);
}

TEST_CASE("googlenet: transform_input as torchvision's") {
  const auto g = test::zoo::read_golden("googlenet");
  auto net = parity_model();
  net.load_state_dict(test::zoo::golden_state(g));
  net.eval();
  net.options.transform_input = true;
  NoGradGuard no_grad;
  Variable y = net.forward(Variable(test::zoo::golden_input(g)));
  test::zoo::check_logits(y.value(), g.at("logits_eval_transform_input"));
}

TEST_CASE("googlenet: auxiliary logits in training mode only; none without aux_logits") {
  auto net = googlenet({.num_classes = 5});
  const Variable x(zeros({2, 3, 15, 15}));
  auto out = net.forward(x);
  CHECK(out.has_aux());
  CHECK(out.aux_logits1.shape() == Shape{2, 5});
  CHECK(out.aux_logits2.shape() == Shape{2, 5});
  net.eval();
  out = net.forward(x);
  CHECK_FALSE(out.has_aux());
  CHECK(Variable(out).shape() == Shape{2, 5});
  auto plain = googlenet({.num_classes = 5, .aux_logits = false});
  CHECK_FALSE(plain.forward(x).has_aux());
  for (const auto& e : plain.state_dict()) CHECK(e.name.rfind("aux", 0) != 0);
}

TEST_CASE("googlenet: torchvision's parameter counts with 1000 classes") {
  CHECK(googlenet({.aux_logits = false}).num_parameters() == 6624904);
  CHECK(googlenet().num_parameters() == 13004888);
}

TEST_CASE("googlenet: wrong inputs and options say what was expected") {
  CHECK_THROWS_WITH_AS(googlenet({.num_classes = 0}),
                       doctest::Contains("googlenet: expected a positive num_classes"), Error);
  auto net = googlenet({.num_classes = 3});
  CHECK_THROWS_WITH_AS(net.forward(Variable(zeros({1, 1, 32, 32}))),
                       doctest::Contains("expected input [N, 3, H, W]"), Error);
}

}  // namespace tg::vision::models

namespace tg::vision::models {

TEST_CASE("googlenet: summary runs through the Inception blocks at the smallest input") {
  auto net = googlenet({.num_classes = 10, .aux_logits = false});
  const auto s = nn::summarize(net, {1, 3, 15, 15});
  CHECK(s.total_parameters == net.num_parameters());
  CHECK(s.rows.back().name == "fc");
  CHECK(s.total_multiply_adds > 0);
}

}  // namespace tg::vision::models
