// The tracing hook (autograd/trace.hpp) as the exporter's Recorder sees it: every op with its
// inputs, announced attributes and module path, on this thread only, and only while installed.
#include <thread>

#include <tapegrad/nn/nn.hpp>
#include <tapegrad/deploy/recorder.hpp>
#include "test_util.hpp"

namespace tg {

TEST_CASE("Recorder: sees each op with its inputs, attributes and module path") {
  nn::Conv2d conv(2, 4, 3, {.stride = 2, .padding = 1, .dilation = 1, .groups = 2});
  const Variable x(test::uniform({1, 2, 8, 8}, -1.0f, 1.0f, 1));
  onnx::detail::Recorder rec;
  {
    trace::TraceGuard listening(rec);
    CHECK(trace::active());
    Variable y = max_pool2d(relu(conv(x)), 3, 2, 1, true);
  }
  CHECK(!trace::active());
  relu(x);  // not recorded: no tracer any more
  REQUIRE(rec.ops().size() == 3);
  const auto& c = rec.ops()[0];
  CHECK(c.op == "conv2d");
  CHECK(c.inputs.size() == 3);
  CHECK(c.inputs[0].node() == x.node());
  CHECK(c.inputs[1].node() == conv->weight.node());
  CHECK(c.ints_attr("strides") == std::vector<std::int64_t>{2, 2});
  CHECK(c.ints_attr("pads") == std::vector<std::int64_t>{1, 1, 1, 1});
  CHECK(c.int_attr("groups") == 2);
  CHECK(c.module_path == "Conv2d");
  CHECK(rec.ops()[1].op == "relu");
  CHECK(rec.ops()[1].attributes.empty());
  CHECK(rec.ops()[1].module_path.empty());
  CHECK(rec.ops()[1].inputs[0].node() == c.output.node());
  const auto& p = rec.ops()[2];
  CHECK(p.op == "max_pool2d");
  CHECK(p.ints_attr("kernel") == std::vector<std::int64_t>{3, 3});
  CHECK(p.int_attr("ceil_mode") == 1);
  CHECK(p.where() == "outside any module");
}

TEST_CASE("Recorder: records under NoGradGuard, and only on the thread it is installed on") {
  onnx::detail::Recorder rec;
  trace::TraceGuard listening(rec);
  NoGradGuard no_grad;
  const Variable x(test::uniform({2, 3}, -1.0f, 1.0f, 2), true);
  Variable y = softmax(x * 2.0f, 1);
  std::thread([&] {
    CHECK(!trace::active());
    sigmoid(x);
  }).join();
  REQUIRE(rec.ops().size() == 2);
  CHECK(rec.ops()[0].op == "mul_scalar");
  CHECK(rec.ops()[0].float_attr("value") == 2.0f);
  CHECK(rec.ops()[1].op == "softmax");
  CHECK(rec.ops()[1].int_attr("dim") == 1);
}

TEST_CASE("Recorder: a module path names the model once, however it is entered") {
  nn::Sequential model(nn::Linear(3, 2), nn::ReLU());
  onnx::detail::Recorder rec;
  trace::TraceGuard listening(rec);
  nn::ModuleScope scope(*model);  // what export_model opens, then the holder's call opens again
  model(Variable(test::uniform({1, 3}, -1.0f, 1.0f, 4)));
  REQUIRE(rec.ops().size() == 2);
  CHECK(rec.ops()[0].module_path == "Sequential.0 (Linear)");
  CHECK(rec.ops()[1].module_path == "Sequential.1 (ReLU)");
}

TEST_CASE("Recorder: guards nest, and attributes must precede their own op") {
  onnx::detail::Recorder outer, inner;
  const Variable x(test::uniform({4}, 0.5f, 1.0f, 3));
  {
    trace::TraceGuard a(outer);
    {
      trace::TraceGuard b(inner);
      exp(x);
    }
    log(x);
  }
  REQUIRE(inner.ops().size() == 1);
  REQUIRE(outer.ops().size() == 1);
  CHECK(outer.ops()[0].op == "log");
  outer.on_attributes("conv2d", {{"groups", std::int64_t{1}}});
  CHECK_THROWS_AS(outer.on_op("relu", x, {}), std::logic_error);
}

}  // namespace tg
