// export_model: files OpenCV's DNN module runs to tapegrad's outputs (1e-4 + 1e-4 * |ref|), that
// ONNX's checker accepts, with state-dict initializer names, and clear errors for ops with no
// ONNX form.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>  // defines ONNX_API, then includes the generated onnx-ml.pb.h

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <tapegrad/nn/nn.hpp>
#include <tapegrad/deploy/export.hpp>
#include <tapegrad/deploy/weights.hpp>
#include <tapegrad/deploy/graph.hpp>
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

// ------------------------------------------------- issue 36: export that does not lie

namespace {

// A Linear whose forward takes a detour chosen by `kind`: values leave the traced graph
// (detach, a read of value()), or a constant comes from the batch size.
struct Detour : nn::Module {
  nn::Linear fc{4, 3};
  int kind = 0;
  Detour() { register_module("fc", fc); }
  Variable forward(const Variable& x) {
    switch (kind) {
      case 0: return fc(x);
      case 1: return fc(x.detach());
      case 2: return fc(Variable(x.value()));
      case 3: return fc(x) + sum(Variable(Tensor(x.value() * 2.0f)), 1, true);  // half escapes
      case 4: return sum(fc(x), 0);   // over the batch: ReduceMean x N
      case 5: return mean(fc(x), 0);  // over the batch: ReduceMean
      case 6: return fc(x) + Variable(filled(Shape{1, 3}, 0.5f));  // a true constant
      default: return fc(x) * mean(fc(x));  // all elements, batch included
    }
  }
};

std::string export_error(Detour& model, int kind, bool dynamic_batch) {
  model.kind = kind;
  const auto path = test::temp_dir("onnx_detour") / "detour.onnx";
  try {
    onnx::export_model(model, test::uniform({2, 4}, -1.0f, 1.0f, 21), path,
                       {.dynamic_batch = dynamic_batch});
  } catch (const Error& e) {
    CHECK(!std::filesystem::exists(path));
    return e.what();
  }
  CHECK(std::filesystem::exists(path));
  return "";
}

}  // namespace

TEST_CASE("export_model: values that leave the graph are an error naming the op, not constants") {
  Detour model;
  CHECK(export_error(model, 0, true) == "");
  CHECK(export_error(model, 6, true) == "");  // a constant made without the input is fine
  for (int kind : {1, 2}) {
    const std::string e = export_error(model, kind, false);
    CAPTURE(e);
    CHECK(e.find("export_onnx: the constant") != std::string::npos);
    CHECK(e.find("read by linear in module Detour.fc (Linear)") != std::string::npos);
    CHECK(e.find("detach()") != std::string::npos);
  }
  const std::string half = export_error(model, 3, false);
  CAPTURE(half);
  CHECK(half.find("read by sum_dim") != std::string::npos);
  // Without dynamic_batch, a reduction over the batch is exact for the example's batch size.
  CHECK(export_error(model, 4, false) == "");
  CHECK(export_error(model, 5, false) == "");
  // Under dynamic_batch a reduction over the batch dimension is refused: sum lowers to
  // ReduceMean times the example's N (a constant), and a mean over it changes the output's shape.
  for (int kind : {4, 5}) {
    const std::string e = export_error(model, kind, true);
    CAPTURE(e);
    CHECK(e.find("batch size") != std::string::npos);
    if (kind == 4) CHECK(e.find("read by sum_dim") != std::string::npos);
  }
  // A mean of every element records its own op, lowered to ReduceMean: computed from the input
  // at run time, it exports.
  CHECK(export_error(model, 7, true) == "");
  CHECK(model.is_training());
}

TEST_CASE("export_model: a forward that fails on the second input says why it ran") {
  Detour model;
  model.kind = 0;
  const Tensor x = test::uniform({1, 4}, -1.0f, 1.0f, 22);
  const float first = x(0, 0);
  auto only_the_example = [&](const Variable& v) {
    TG_CHECK(v.value()(0, 0) == first, "my_check: expected the example");
    return model.forward(v);
  };
  const auto dir = test::temp_dir("onnx_second_fails");
  CHECK_THROWS_WITH_AS(onnx::export_model(model, only_the_example, x, dir / "no.onnx"),
                       doctest::Contains("failed on a second input"), Error);
  CHECK(!std::filesystem::exists(dir / "no.onnx"));
}

TEST_CASE("export_model: errors name the public header") {
  Detour model;
  const auto dir = test::temp_dir("onnx_header");
  auto with_loss = [&](const Variable& x) { return mse_loss(model.forward(x), Variable(zeros({2, 3}).value())); };
  CHECK_THROWS_WITH_AS(onnx::export_model(model, with_loss, test::uniform({2, 4}, -1.0f, 1.0f, 23),
                                          dir / "loss.onnx"),
                       doctest::Contains("see tapegrad/deploy/export.hpp"), Error);
}

// A module that records the mode every forward pass saw, per thread.
struct ModeProbe : nn::Module {
  nn::Linear fc{4, 3};
  nn::BatchNorm1d bn{3};
  std::mutex m;
  std::map<std::thread::id, std::vector<bool>> seen;
  ModeProbe() {
    register_module("fc", fc);
    register_module("bn", bn);
  }
  Variable forward(const Variable& x) {
    {
      std::lock_guard<std::mutex> lock(m);
      seen[std::this_thread::get_id()].push_back(is_training() && bn->is_training());
    }
    return bn(fc(x));
  }
};

TEST_CASE("export_model: two threads exporting while a third trains, every pass in its mode") {
  // Issue 36, finding 6: export flipped the shared training flags (eval() then a restore), so
  // the trainer ran passes in eval mode and concurrent exports restored each other's modes.
  ModeProbe model;
  const auto dir = test::temp_dir("onnx_threads");
  constexpr int kRounds = 120;
  std::atomic<int> exported{0}, failed{0};
  std::string first_error;
  std::mutex error_m;
  auto exporter = [&](const char* file) {
    for (int r = 0; r < kRounds; ++r) {
      try {
        onnx::export_model(model, test::uniform({2, 4}, -1.0f, 1.0f, 30 + static_cast<std::uint64_t>(r)),
                           dir / file, {.dynamic_batch = true});
        ++exported;
      } catch (const Error& e) {
        ++failed;
        std::lock_guard<std::mutex> lock(error_m);
        if (first_error.empty()) first_error = e.what();
      }
    }
  };
  std::thread::id trainer_id;
  std::thread trainer([&] {
    trainer_id = std::this_thread::get_id();
    for (int r = 0; r < 3 * kRounds; ++r) {
      Variable out = model.forward(Variable(test::uniform({8, 4}, -1.0f, 1.0f, 500 + static_cast<std::uint64_t>(r))));
      sum(out * out).backward();  // gradients only: the exported weights stay consistent
    }
  });
  std::thread a(exporter, "t0.onnx"), b(exporter, "t1.onnx");
  trainer.join();
  a.join();
  b.join();
  INFO(first_error);
  CHECK(failed == 0);
  CHECK(exported == 2 * kRounds);
  CHECK(model.is_training());
  std::size_t training_passes = 0, eval_passes = 0, wrong = 0;
  for (const auto& [id, modes] : model.seen)
    for (bool training : modes) {
      const bool expected = id == trainer_id;
      (expected ? training_passes : eval_passes)++;
      wrong += training != expected;
    }
  CHECK(training_passes == 3 * kRounds);
  CHECK(eval_passes == 2 * 2 * kRounds);  // two traced passes per export
  CHECK(wrong == 0);
  // The files are good: each loads back.
  ModeProbe copy;
  onnx::load_weights(copy, dir / "t0.onnx");
}

namespace {

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Python's onnx (python3-onnx) on `path`: onnx.checker.check_model on the path (it follows
// external data), then every initializer loaded with its external data, printed as
// "name sum-of-values" lines. "" when python3-onnx is not installed.
std::string python_onnx_sums(const std::filesystem::path& path) {
  const std::string command =
      "/usr/bin/python3 -c \"import sys\ntry:\n import onnx, onnx.numpy_helper as nh\nexcept "
      "ImportError:\n sys.exit(3)\nonnx.checker.check_model(sys.argv[1])\nm = onnx.load(sys.argv[1])\n"
      "for t in m.graph.initializer: print(t.name, '%.4f' % float(nh.to_array(t).sum(dtype='float64')))\" " +
      path.string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  const int status = pclose(pipe);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3) return "";
  INFO(output);
  CHECK(status == 0);
  return output;
}

// The same lines from tapegrad's own parameters.
std::string tapegrad_sums(const nn::Module& model, const std::set<std::string>& names) {
  std::string out;
  for (const auto& [name, p] : model.named_parameters()) {
    if (!names.count(name)) continue;
    double sum = 0;
    for (std::size_t i = 0; i < p.numel(); ++i) sum += p.value().data()[i];
    char line[256];
    std::snprintf(line, sizeof line, "%s %.4f\n", name.c_str(), sum);
    out += line;
  }
  return out;
}

}  // namespace

TEST_CASE("export_model: a model over protobuf's 2 GiB limit is written as ONNX external data") {
  // Issue 36, finding 2: a 2.3 GB model gave a 0-byte .onnx reported as success. The limit is
  // lowered here to test with a small model; the real one is the ENV-gated case below.
  SimpleCNN model;
  const auto dir = test::temp_dir("onnx_limit");
  const Tensor x = test::uniform({1, 1, 28, 28}, -1.0f, 1.0f, 24);
  onnx::export_model(model, x, dir / "model.onnx");
  const std::string embedded = file_text(dir / "model.onnx");
  REQUIRE(embedded.size() > 20000);
  const std::size_t saved = onnx::detail::max_model_bytes;
  onnx::detail::max_model_bytes = 20000;
  onnx::export_model(model, x, dir / "model.onnx");
  onnx::detail::max_model_bytes = 200;  // over the limit even without its weights
  CHECK_THROWS_WITH_AS(onnx::export_model(model, x, dir / "other.onnx"),
                       doctest::Contains("expected a model of at most 200 bytes"), Error);
  CHECK_THROWS_WITH_AS(onnx::export_model(model, x, "/dev/full"),
                       doctest::Contains("which a pipe or a device cannot have"), Error);
  onnx::detail::max_model_bytes = saved;
  CHECK(!std::filesystem::exists(dir / "other.onnx"));
  CHECK(!std::filesystem::exists(dir / "other.onnx.data"));

  const ::onnx::ModelProto proto = read_model(dir / "model.onnx");
  CHECK(std::filesystem::file_size(dir / "model.onnx") <= 20000);
  std::set<std::string> external;
  for (const auto& t : proto.graph().initializer())
    if (t.data_location() == ::onnx::TensorProto::EXTERNAL) {
      external.insert(t.name());
      CHECK(t.raw_data().empty());
      CHECK(t.external_data(0).value() == "model.onnx.data");
    }
  CHECK(external == std::set<std::string>{"conv2.weight", "fc1.weight", "fc2.weight"});
  // Our reader gives back the same model ...
  SimpleCNN copy;
  onnx::load_weights(copy, dir / "model.onnx");
  for (const auto& [name, p] : model.named_parameters())
    test::check_close(copy.state_dict().at(name), p.value(), 0.0, 0.0);
  // ... and so does ONNX's own (checker and loader), when python3-onnx is installed.
  const std::string python = python_onnx_sums(dir / "model.onnx");
  if (python.empty()) {
    MESSAGE("python3-onnx is not installed: the external data was checked by load_weights only");
  } else {
    std::string expected;
    for (const auto& [name, p] : model.named_parameters()) expected += tapegrad_sums(model, {name});
    CHECK(python == expected);
  }
  // A crafted location leaving the folder is refused.
  ::onnx::ModelProto crafted = proto;
  for (auto& t : *crafted.mutable_graph()->mutable_initializer())
    if (t.name() == "fc1.weight") t.mutable_external_data(0)->set_value("../model.onnx.data");
  {
    std::ofstream out(dir / "crafted.onnx", std::ios::binary);
    REQUIRE(crafted.SerializeToOstream(&out));
  }
  CHECK_THROWS_WITH_AS(onnx::load_weights(copy, dir / "crafted.onnx"),
                       doctest::Contains("inside the model's folder"), Error);
}

TEST_CASE("export_model: a real 2.3 GB model (TAPEGRAD_TEST_LARGE=1: 3 min, 11 GB of memory at peak, 2.3 GB of disk)") {
  const char* large = std::getenv("TAPEGRAD_TEST_LARGE");
  if (!large || std::string(large) != "1") return;
  nn::Linear model(24000, 24000);
  const auto dir = test::temp_dir("onnx_large");
  onnx::export_model(model, test::uniform({1, 24000}, -1.0f, 1.0f, 25), dir / "big.onnx");
  CHECK(std::filesystem::file_size(dir / "big.onnx") < 4096);
  CHECK(std::filesystem::file_size(dir / "big.onnx.data") >= 24000ull * 24000 * 4);
  {
    nn::Linear copy(24000, 24000);
    onnx::load_weights(copy, dir / "big.onnx");
    CHECK(copy->weight.value() == model->weight.value());
    CHECK(copy->bias.value() == model->bias.value());
  }
  const std::string python = python_onnx_sums(dir / "big.onnx");
  if (!python.empty()) CHECK(python == tapegrad_sums(*model, {"weight", "bias"}));
  std::filesystem::remove_all(dir);
}

TEST_CASE("export_model: a failed write is an error that leaves the old file; pipes stay pipes") {
  SimpleCNN model;
  const auto dir = test::temp_dir("onnx_write");
  const Tensor x = test::uniform({1, 1, 28, 28}, -1.0f, 1.0f, 26);
  onnx::export_model(model, x, dir / "model.onnx");
  const auto before = std::filesystem::file_size(dir / "model.onnx");
  // A child that may write 4 KB: the write fails (EFBIG), export throws, the file stays.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    rlimit small{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &small);
    ::signal(SIGXFSZ, SIG_IGN);
    Tensor y = x;
    y(0, 0, 0, 0) += 1.0f;
    try {
      onnx::export_model(model, y, dir / "model.onnx");
    } catch (const Error&) {
      _exit(10);
    }
    _exit(11);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 10);
  CHECK(std::filesystem::file_size(dir / "model.onnx") == before);
  CHECK_THROWS_WITH_AS(onnx::export_model(model, x, "/dev/full"),
                       doctest::Contains("No space left on device"), Error);
  // A named pipe receives the model and stays a pipe.
  const auto fifo = dir / "model.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(reader >= 0);
  std::string received;
  std::thread drainer([&] {
    for (int idle = 0; idle < 100;) {
      pollfd p{reader, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        ++idle;
        continue;
      }
      char buf[65536];
      const ssize_t n = ::read(reader, buf, sizeof buf);
      if (n <= 0) break;
      received.append(buf, static_cast<std::size_t>(n));
    }
  });
  onnx::export_model(model, x, fifo);
  drainer.join();
  ::close(reader);
  struct stat st {};
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  ::onnx::ModelProto proto;
  CHECK(proto.ParseFromString(received));
  CHECK(proto.graph().initializer_size() == 8);
}

}  // namespace tg
