// load_weights: an exported file's initializers back into a fresh model give the same outputs;
// missing entries and wrong shapes are errors that change nothing.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <fstream>
#include <vector>

#include <tapegrad/nn/nn.hpp>
#include <tapegrad/deploy/export.hpp>
#include <tapegrad/deploy/weights.hpp>
#include "test_util.hpp"

namespace tg {

namespace {
nn::Sequential make_net() {
  return nn::Sequential(nn::Conv2d(2, 4, 3, {.padding = 1}), nn::BatchNorm2d(4), nn::ReLU(),
                        nn::Flatten(), nn::Linear(4 * 5 * 5, 3));
}
}  // namespace

TEST_CASE("load_weights: a round trip through ONNX gives a model with the same outputs") {
  manual_seed(1);
  nn::Sequential trained = make_net();
  {
    NoGradGuard no_grad;  // running statistics away from 0/1
    trained->forward(Variable(test::uniform({4, 2, 5, 5}, 0.0f, 3.0f, 1)));
  }
  const auto path = test::temp_dir("onnx_weights") / "net.onnx";
  const Tensor x = test::uniform({2, 2, 5, 5}, -1.0f, 1.0f, 2);
  onnx::export_model(trained, x, path);
  manual_seed(2);
  nn::Sequential fresh = make_net();
  onnx::load_weights(fresh, path);
  trained->eval();
  fresh->eval();
  NoGradGuard no_grad;
  test::check_close(fresh->forward(Variable(x)).value(), trained->forward(Variable(x)).value(), 0.0, 0.0);
}

TEST_CASE("load_weights: a model that does not match is an error and stays as it was") {
  nn::Sequential small = make_net();
  const auto dir = test::temp_dir("onnx_weights_bad");
  onnx::export_model(small, test::uniform({1, 2, 5, 5}, -1.0f, 1.0f, 3), dir / "net.onnx");
  nn::Sequential other(nn::Conv2d(2, 4, 3, {.padding = 1}), nn::BatchNorm2d(4), nn::ReLU(),
                       nn::Flatten(), nn::Linear(4 * 5 * 5, 3), nn::Linear(3, 2));
  CHECK_THROWS_WITH_AS(onnx::load_weights(other, dir / "net.onnx"),
                       doctest::Contains("got none for: 5.weight, 5.bias"), Error);
  nn::Sequential wide(nn::Conv2d(2, 8, 3, {.padding = 1}), nn::BatchNorm2d(8), nn::ReLU(),
                      nn::Flatten(), nn::Linear(8 * 5 * 5, 3));
  const Tensor before = wide->named_parameters()[0].second.value();
  CHECK_THROWS_AS(onnx::load_weights(wide, dir / "net.onnx"), Error);
  test::check_close(wide->named_parameters()[0].second.value(), before, 0.0, 0.0);
  std::ofstream(dir / "junk.onnx") << "not a model";
  CHECK_THROWS_WITH_AS(onnx::load_weights(small, dir / "junk.onnx"),
                       doctest::Contains("expected an ONNX model in"), Error);
}

TEST_CASE("load_weights: initializer dims that are negative, huge or overflow are a tg::Error") {
  // Issue 36, finding 9: -1 and 2^40 escaped as std::bad_alloc, an overflowing product reached
  // xtensor's strides. Each is refused before anything is allocated from the dims.
  nn::Sequential net = make_net();
  const auto dir = test::temp_dir("onnx_weights_dims");
  onnx::export_model(net, test::uniform({1, 2, 5, 5}, -1.0f, 1.0f, 4), dir / "net.onnx");
  ::onnx::ModelProto model;
  {
    std::ifstream in(dir / "net.onnx", std::ios::binary);
    REQUIRE(model.ParseFromIstream(&in));
  }
  const std::int64_t big = std::int64_t{1} << 40, half = std::int64_t{1} << 32;
  const std::vector<std::vector<std::int64_t>> cases{
      {3, -1}, {-3, -1}, {3, big}, {half, half, 4}, {big, big, big}, {0, half, half, 8}};
  for (const auto& dims : cases) {
    ::onnx::ModelProto crafted = model;
    for (auto& t : *crafted.mutable_graph()->mutable_initializer()) {
      if (t.name() != "4.weight") continue;
      t.clear_dims();
      for (std::int64_t d : dims) t.add_dims(d);
    }
    {
      std::ofstream out(dir / "crafted.onnx", std::ios::binary);
      REQUIRE(crafted.SerializeToOstream(&out));
    }
    CAPTURE(dims.size());
    CHECK_THROWS_WITH_AS(onnx::load_weights(net, dir / "crafted.onnx"),
                         doctest::Contains("'4.weight'"), Error);
    CHECK_THROWS_AS(onnx::load_weights(net, dir / "crafted.onnx", false), Error);
  }
}

}  // namespace tg
