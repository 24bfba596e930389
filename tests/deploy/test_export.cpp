// export_model: files OpenCV's DNN module runs to tapegrad's outputs (1e-4 + 1e-4 * |ref|), that
// ONNX's checker accepts, with state-dict initializer names, and clear errors for ops with no
// ONNX form.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>  // defines ONNX_API, then includes the generated onnx-ml.pb.h

#include <cstdio>
#include <fstream>
#include <set>

#include <tapegrad/nn/nn.hpp>
#include <tapegrad/deploy/export.hpp>
#include "deploy/opencv_runner.hpp"

namespace tg {
namespace {

// The seed material's SimpleCNN: conv 5x5, max pool, conv, max pool, view, two linears.
struct SimpleCNN : nn::Module {
  nn::Conv2d conv1{1, 5, 5};
  nn::MaxPool2d pool{2, 2};
  nn::Conv2d conv2{5, 10, 5};
  nn::Linear fc1{160, 32};
  nn::Linear fc2{32, 10};
  SimpleCNN() {
    register_module("conv1", conv1);
    register_module("pool", pool);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Variable forward(const Variable& input) {
    Variable x = pool(relu(conv1(input)));
    x = pool(relu(conv2(x)));
    return fc2(relu(fc1(x.view({-1, 160}))));
  }
};

// A small CIFAR-style ResNet: stem, two BasicBlocks (one with a strided projection), global
// average pooling, a classifier.
struct SmallResNet : nn::Module {
  nn::Conv2d conv1{3, 8, 3, {.padding = 1, .bias = false}};
  nn::BatchNorm2d bn1{8};
  nn::Sequential layer1{nn::BasicBlock(8, 8, 1), nn::BasicBlock(8, 16, 2)};
  nn::AdaptiveAvgPool2d pool{{1, 1}};
  nn::Linear fc{16, 10};
  SmallResNet() {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("layer1", layer1);
    register_module("avgpool", pool);
    register_module("fc", fc);
  }
  Variable forward(const Variable& x) { return fc(pool(layer1(relu(bn1(conv1(x))))).flatten()); }
};

// Running statistics and affine parameters far from their initial 0/1: a few training-mode
// passes on shifted data, then random BN weights.
void train_batch_norms(nn::Module& model, const std::function<Variable(const Variable&)>& forward,
                       const Shape& input_shape) {
  model.train();
  for (int step = 0; step < 3; ++step) {
    NoGradGuard no_grad;
    forward(Variable(test::uniform(input_shape, -1.0f, 3.0f, 100 + step)));
  }
  std::uint64_t seed = 7;
  for (auto& [name, p] : model.named_parameters())
    if (name.find("bn") != std::string::npos || name.find("downsample.1") != std::string::npos)
      p.value() = test::uniform(p.shape(), 0.5f, 1.5f, seed++);
}

::onnx::ModelProto read_model(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  ::onnx::ModelProto model;
  REQUIRE(model.ParseFromIstream(&in));
  return model;
}

}  // namespace

TEST_CASE("export_model: SimpleCNN runs in OpenCV with tapegrad's outputs") {
  SimpleCNN model;
  const auto dir = test::temp_dir("onnx_simple_cnn");
  const Tensor x = test::uniform({2, 1, 28, 28}, -1.0f, 1.0f, 1);
  onnx::export_model(model, x, dir / "simple_cnn.onnx");
  const Tensor expected = test::run_tapegrad(model, [&](const Variable& v) { return model.forward(v); }, x);
  test::check_runtime_close(test::run_opencv(dir / "simple_cnn.onnx", x), expected);
}

TEST_CASE("export_model: a ResNet with trained BatchNorm statistics matches in OpenCV") {
  SmallResNet model;
  auto forward = [&](const Variable& v) { return model.forward(v); };
  train_batch_norms(model, forward, {4, 3, 16, 16});
  const auto dir = test::temp_dir("onnx_resnet");
  const Tensor x = test::uniform({3, 3, 16, 16}, -1.0f, 2.0f, 2);
  onnx::export_model(model, x, dir / "resnet.onnx");
  test::check_runtime_close(test::run_opencv(dir / "resnet.onnx", x),
                            test::run_tapegrad(model, forward, x));
}

TEST_CASE("export_model: a dynamic batch runs at batch 1 and 7") {
  SmallResNet model;
  auto forward = [&](const Variable& v) { return model.forward(v); };
  train_batch_norms(model, forward, {4, 3, 16, 16});
  const auto dir = test::temp_dir("onnx_dynamic");
  onnx::export_model(model, test::uniform({2, 3, 16, 16}, -1.0f, 1.0f, 3), dir / "dyn.onnx",
                     {.dynamic_batch = true});
  for (std::size_t n : {1u, 7u}) {
    const Tensor x = test::uniform({n, 3, 16, 16}, -1.0f, 1.0f, 10 + n);
    test::check_runtime_close(test::run_opencv(dir / "dyn.onnx", x), test::run_tapegrad(model, forward, x));
  }
  const auto proto = read_model(dir / "dyn.onnx");
  CHECK(proto.graph().input(0).type().tensor_type().shape().dim(0).dim_param() == "batch");
  CHECK(proto.graph().output(0).type().tensor_type().shape().dim(0).dim_param() == "batch");
}

TEST_CASE("export_model: the file names its graph, inputs and initializers as PyTorch would") {
  SmallResNet model;
  const auto dir = test::temp_dir("onnx_names");
  onnx::export_model(model, test::uniform({1, 3, 16, 16}, -1.0f, 1.0f, 4), dir / "names.onnx");
  const auto proto = read_model(dir / "names.onnx");
  CHECK_NOTHROW(::onnx::checker::check_model(proto));
  CHECK(proto.producer_name() == "tapegrad");
  CHECK(!proto.producer_version().empty());
  REQUIRE(proto.opset_import_size() == 1);
  CHECK(proto.opset_import(0).version() == 13);
  CHECK(proto.graph().input(0).name() == "input");
  CHECK(proto.graph().output(0).name() == "logits");
  std::set<std::string> initializers, state;
  for (const auto& init : proto.graph().initializer()) initializers.insert(init.name());
  for (const auto& entry : model.state_dict())
    if (!entry.name.ends_with("num_batches_tracked")) state.insert(entry.name);
  CHECK(initializers == state);
  for (const auto& init : proto.graph().initializer())
    if (init.name() == "layer1.1.downsample.0.weight") CHECK(init.dims_size() == 4);
}

TEST_CASE("export_model: runs in eval mode and leaves the model, its modes and grad mode as they were") {
  SmallResNet model;
  auto forward = [&](const Variable& v) { return model.forward(v); };
  train_batch_norms(model, forward, {4, 3, 16, 16});
  model.train();
  model.layer1->eval();  // mixed modes come back mixed
  const nn::StateDict before = model.state_dict();
  const auto dir = test::temp_dir("onnx_modes");
  const Tensor x = test::uniform({2, 3, 16, 16}, -1.0f, 1.0f, 5);
  onnx::export_model(model, x, dir / "modes.onnx");
  CHECK(model.is_training());
  CHECK(!model.layer1->is_training());
  CHECK(model.bn1->is_training());
  CHECK(grad_enabled());
  for (const auto& entry : model.state_dict()) {
    INFO(entry.name);
    test::check_close(entry.value, before.at(entry.name), 0.0, 0.0);
  }
  // The file holds the eval-mode model (running statistics), whatever mode it was called in.
  test::check_runtime_close(test::run_opencv(dir / "modes.onnx", x), test::run_tapegrad(model, forward, x));
  {
    NoGradGuard no_grad;  // exporting from inference code works too and keeps grad mode off
    onnx::export_model(model, x, dir / "no_grad.onnx", {.opset = 17});
    CHECK(!grad_enabled());
  }
  CHECK(read_model(dir / "no_grad.onnx").opset_import(0).version() == 17);
}

TEST_CASE("export_model: bad options and a failed export leave no file") {
  SimpleCNN model;
  const auto dir = test::temp_dir("onnx_bad");
  const Tensor x = test::uniform({1, 1, 28, 28}, -1.0f, 1.0f, 6);
  CHECK_THROWS_WITH_AS(onnx::export_model(model, x, dir / "a.onnx", {.opset = 11}),
                       doctest::Contains("expected opset 13 to 17, got 11"), Error);
  CHECK_THROWS_WITH_AS(onnx::export_model(model, x, dir / "a.onnx", {.output_name = "input"}),
                       doctest::Contains("two different, non-empty input and output names"), Error);
  CHECK_THROWS_WITH_AS(onnx::export_model(model, test::uniform({1, 1, 20, 20}, -1.0f, 1.0f, 6), dir / "a.onnx"),
                       doctest::Contains("view: expected a shape compatible with [1, 10, 2, 2]"), Error);
  CHECK(std::filesystem::is_empty(dir));
  CHECK(model.is_training());  // restored after the failed pass too
}

// The ONNX project's Python checker with full_check (its checker plus strict shape inference),
// Debian's python3-onnx: a second reading of the files, independent of the C++ library that
// wrote them.
TEST_CASE("export_model: Python onnx's full check accepts the exported files") {
  const auto dir = test::temp_dir("onnx_python_check");
  SimpleCNN simple;
  onnx::export_model(simple, test::uniform({1, 1, 28, 28}, -1.0f, 1.0f, 8), dir / "simple_cnn.onnx");
  SmallResNet resnet;
  train_batch_norms(resnet, [&](const Variable& x) { return resnet.forward(x); }, {4, 3, 16, 16});
  onnx::export_model(resnet, test::uniform({2, 3, 16, 16}, -1.0f, 1.0f, 9), dir / "resnet.onnx",
                     {.dynamic_batch = true});
  for (const char* file : {"simple_cnn.onnx", "resnet.onnx"}) {
    const std::string command = "/usr/bin/python3 -c \"import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), "
                                "full_check=True); print('ok')\" " + (dir / file).string() + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
    const int status = pclose(pipe);
    INFO(file, ": ", output, " (needs python3-onnx: scripts/deps.sh installs it)");
    CHECK(status == 0);
    CHECK(output == "ok\n");
  }
}

}  // namespace tg
