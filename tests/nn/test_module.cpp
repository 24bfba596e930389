// Module machinery: registration, dotted names, traversal, modes, state dicts, Sequential.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>

#include <tapegrad/nn/nn.hpp>

namespace {

using tg::Shape;
using tg::Tensor;
using tg::Variable;
namespace nn = tg::nn;

// A user module holding layers, a user submodule by value and a parameter of its own.
struct Head : nn::Module {
  nn::Linear fc{4, 2};
  Variable scale;
  Head() {
    register_module("fc", fc);
    scale = register_parameter("scale", tg::ones(Shape{2}));
  }
  Variable forward(const Variable& x) { return fc(x) * scale; }
};

struct Net : nn::Module {
  nn::Linear body{3, 4};
  nn::BatchNorm1d bn{4};
  Head head;
  Net() {
    register_module("body", body);
    register_module("bn", bn);
    register_module("head", head);
  }
  Variable forward(Variable x) { return head.forward(tg::relu(bn(body(x)))); }
};

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Variable>>& named) {
  std::vector<std::string> names;
  for (const auto& [name, v] : named) names.push_back(name);
  return names;
}

}  // namespace

TEST_CASE("named_parameters gives PyTorch's dotted names in registration order") {
  Net net;
  CHECK(names_of(net.named_parameters()) ==
        std::vector<std::string>{"body.weight", "body.bias", "bn.weight", "bn.bias", "head.scale",
                                 "head.fc.weight", "head.fc.bias"});
  CHECK(names_of(net.named_buffers()) ==
        std::vector<std::string>{"bn.running_mean", "bn.running_var", "bn.num_batches_tracked"});
  CHECK(net.parameters().size() == 7);
  CHECK(net.num_parameters() == 3 * 4 + 4 + 4 + 4 + 2 + 4 * 2 + 2);
  CHECK(names_of(net.named_parameters(false)).empty());
  CHECK(net.named_children().size() == 3);
  CHECK(net.named_children()[2].first == "head");
  CHECK(net.modules().size() == 5);  // net, body, bn, head, head.fc
  auto named = net.named_modules();
  CHECK(named[4].first == "head.fc");
  for (const auto& p : net.parameters()) CHECK(p.requires_grad());
  for (const auto& b : net.buffers()) CHECK_FALSE(b.requires_grad());
}

TEST_CASE("parameters are handles to the layers' own Variables") {
  Net net;
  auto params = net.parameters();
  CHECK(params[0].node() == net.body->weight.node());
  params[0].value()(0, 0) = 42.0f;
  CHECK(net.body->weight.value()(0, 0) == 42.0f);
}

TEST_CASE("a Variable registered twice is listed once") {
  struct Tied : nn::Module {
    nn::Linear a{3, 3};
    Tied() {
      register_module("a", a);
      register_parameter("shared", a->weight);
    }
  } tied;
  CHECK(tied.parameters().size() == 2);  // a.weight (== shared) and a.bias
  CHECK(tied.state_dict().size() == 3);  // state dicts keep every name, as PyTorch's do
}

TEST_CASE("registration errors name the problem") {
  nn::Module m;
  m.register_parameter("w", tg::zeros(Shape{2}));
  CHECK_THROWS_WITH_AS(m.register_parameter("w", tg::zeros(Shape{2})),
                       doctest::Contains("'w' which is already registered"), tg::Error);
  CHECK_THROWS_WITH_AS(m.register_buffer("a.b", tg::zeros(Shape{2})),
                       doctest::Contains("without '.'"), tg::Error);
  auto x = tg::ones(Shape{2}, true);
  CHECK_THROWS_WITH_AS(m.register_parameter("y", x * 2.0f), doctest::Contains("expected a leaf"),
                       tg::Error);
  nn::Linear empty(nullptr);
  CHECK_THROWS_WITH_AS(m.register_module("e", empty), doctest::Contains("empty holder"), tg::Error);
  CHECK_THROWS_WITH_AS(empty(x), doctest::Contains("empty holder"), tg::Error);
}

TEST_CASE("train and eval are recursive") {
  Net net;
  CHECK(net.is_training());
  net.eval();
  CHECK_FALSE(net.is_training());
  CHECK_FALSE(net.bn->is_training());
  CHECK_FALSE(net.head.fc->is_training());
  net.train();
  CHECK(net.head.fc->is_training());
}

TEST_CASE("every parameter gets a gradient, zero_grad drops them, frozen ones get none") {
  tg::manual_seed(1);
  Net net;
  auto x = tg::randn(Shape{5, 3});
  tg::sum(net.forward(x)).backward();
  for (auto& [name, p] : net.named_parameters()) CHECK_MESSAGE(p.has_grad(), name);
  net.zero_grad();
  for (auto& p : net.parameters()) CHECK_FALSE(p.has_grad());
  net.body->weight.set_requires_grad(false);
  tg::sum(net.forward(x)).backward();
  CHECK_FALSE(net.body->weight.has_grad());
  CHECK(net.body->bias.has_grad());
  CHECK(net.num_parameters(true) == net.num_parameters() - 12);
}

TEST_CASE("copies and moves of a module keep its registry consistent") {
  Net net;
  Net copy = net;  // shallow: the layers are shared, the user submodule is copied
  auto copied = copy.named_parameters();
  CHECK(copied[0].second.node() == net.body->weight.node());
  CHECK(copy.named_children()[2].second == &copy.head);  // the copy's own member
  auto moved = std::make_shared<Net>(std::move(copy));
  CHECK(moved->named_children()[2].second == &moved->head);
  CHECK(moved->parameters().size() == 7);
}

TEST_CASE("state_dict has params and buffers with PyTorch's names, load_state_dict copies back") {
  tg::manual_seed(2);
  Net a, b;
  auto dict = a.state_dict();
  CHECK(dict.size() == 10);
  CHECK(dict.entries()[2].name == "bn.weight");
  CHECK(dict.entries()[4].name == "bn.running_mean");
  CHECK(dict.entries()[6].name == "bn.num_batches_tracked");
  CHECK(dict.entries()[6].dtype == nn::Dtype::I64);
  CHECK(dict.at("bn.num_batches_tracked").dimension() == 0);
  CHECK(dict.at("body.weight").shape() == Shape{4, 3});
  b.load_state_dict(dict);
  auto x = tg::randn(Shape{2, 3});
  a.eval(), b.eval();
  CHECK(a.forward(x).value() == b.forward(x).value());
  // state_dict copies: changing the module afterwards leaves the dict alone.
  a.body->weight.value()(0, 0) += 1.0f;
  CHECK(dict.at("body.weight")(0, 0) != a.body->weight.value()(0, 0));
}

TEST_CASE("load_state_dict strict errors name the entry and change nothing") {
  Net net;
  const auto before = net.body->weight.value();
  auto dict = net.state_dict();
  dict.at("body.weight") += 1.0f;

  auto missing = nn::StateDict();
  for (const auto& e : dict)
    if (e.name != "head.fc.bias") missing.insert(e.name, e.value, e.dtype);
  CHECK_THROWS_WITH_AS(net.load_state_dict(missing),
                       doctest::Contains("Missing key(s) in state_dict: \"head.fc.bias\"."),
                       tg::Error);
  CHECK(net.body->weight.value() == before);
  CHECK_NOTHROW(net.load_state_dict(missing, false));
  CHECK(net.body->weight.value() == dict.at("body.weight"));

  auto unexpected = dict;
  unexpected.insert("head.extra", tg::Tensor{1.0f});
  CHECK_THROWS_WITH_AS(net.load_state_dict(unexpected),
                       doctest::Contains("Unexpected key(s) in state_dict: \"head.extra\"."), tg::Error);
  CHECK_NOTHROW(net.load_state_dict(unexpected, false));

  auto misshaped = dict;
  misshaped.insert("body.bias", tg::zeros(Shape{5}).value());
  CHECK_THROWS_WITH_AS(net.load_state_dict(misshaped, false),
                       doctest::Contains("expected 'body.bias' of shape [4], got [5]"), tg::Error);
}

TEST_CASE("Sequential accepts holders, shared modules, user modules and callables") {
  tg::manual_seed(3);
  struct Doubler {  // not a Module, has forward
    Variable forward(const Variable& x) { return x * 2.0f; }
  };
  nn::Sequential seq;
  CHECK(seq.empty());
  auto x = tg::randn(Shape{2, 4});
  CHECK(seq(x).node() == x.node());  // empty: identity
  seq.push_back(nn::Linear(4, 4));
  seq.push_back(std::make_shared<nn::ReLUImpl>());
  seq.push_back(Head());
  seq.push_back(Doubler{});
  seq.push_back([](const Variable& v) { return v + 1.0f; });
  seq.push_back(tg::sigmoid);
  CHECK(seq.size() == 6);
  CHECK(names_of(seq->named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "2.scale", "2.fc.weight", "2.fc.bias"});
  CHECK(seq[3].name() == "Functional");
  CHECK(seq->at<nn::LinearImpl>(0).in_features == 4);
  CHECK_THROWS_WITH_AS(seq->at<nn::Conv2dImpl>(0), doctest::Contains("got Linear"), tg::Error);
  CHECK_THROWS_AS(seq[6], tg::Error);

  auto& lin = seq->at<nn::LinearImpl>(0);
  auto& head = seq->at<Head>(2);
  auto expected = tg::sigmoid(head.forward(tg::relu(lin.forward(x))) * 2.0f + 1.0f);
  CHECK(seq(x).value() == expected.value());

  nn::Sequential nested(nn::Linear(4, 3), nn::Sequential(nn::ReLU(), nn::Linear(3, 2)));
  CHECK(names_of(nested->named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "1.1.weight", "1.1.bias"});
  CHECK(nested(x).shape() == Shape{2, 2});
  nn::Sequential named;
  named.push_back("features", nn::Linear(4, 3));
  CHECK(named->named_parameters()[0].first == "features.weight");
}

TEST_CASE("Sequential hands each output to the next step: Conv-BN-ReLU fuses, its input is untouched") {
  tg::manual_seed(4);
  nn::Sequential block(nn::Conv2d(2, 3, 3, {.padding = 1, .bias = false}), nn::BatchNorm2d(3), nn::ReLU());
  nn::Sequential functional(nn::Conv2d(2, 3, 3, {.padding = 1, .bias = false}), nn::BatchNorm2d(3));
  functional.push_back(tg::relu);
  auto x = tg::randn(Shape{2, 2, 4, 4}, true);
  const Tensor x_before = x.value();
  Variable y = block(x);
  CHECK(std::string(y.op_name()) == "batch_norm_relu");
  CHECK(std::string(functional(x).op_name()) == "batch_norm_relu");
  CHECK(x.value() == x_before);

  // The same values and gradients as the layers called one by one on named outputs.
  auto& conv = block->at<nn::Conv2dImpl>(0);
  auto& bn = block->at<nn::BatchNormImpl>(1);
  Variable z = conv.forward(x);
  Variable normalized = bn.forward(z);
  Variable expected = tg::relu(normalized);
  CHECK(std::string(expected.op_name()) == "relu");
  CHECK(y.value() == expected.value());
  tg::sum(y * y).backward();
  const Tensor fused_grad = x.grad();
  x.zero_grad();
  tg::sum(expected * expected).backward();
  CHECK(x.grad() == fused_grad);

  // A ReLU layer alone never changes the caller's variable.
  nn::Sequential relu_only(nn::ReLU{});
  auto v = tg::randn(Shape{3, 4});
  const Tensor v_before = v.value();
  relu_only(v);
  nn::ReLU relu_layer{};
  relu_layer(v);
  CHECK(v.value() == v_before);
  CHECK(std::string(relu_layer(bn.forward(z)).op_name()) == "batch_norm_relu");
}

namespace {

// A user module that names itself on the anomaly path (its forward opens a ModuleScope).
struct ConvNet : nn::Module {
  nn::Sequential features{nn::Conv2d(1, 2, 3), nn::Flatten()};
  nn::Linear fc{2, 3};
  ConvNet() {
    register_module("features", features);
    register_module("fc", fc);
  }
  Variable forward(const Variable& x) {
    nn::ModuleScope scope(*this);
    return fc(features(x));
  }
};

}  // namespace

TEST_CASE("anomaly mode names the module path of the op that met a NaN") {
  ConvNet net;
  tg::Tensor image = tg::zeros(Shape{1, 1, 3, 3}).value();
  image(0, 0, 1, 1) = NAN;
  CHECK(std::isnan(net.forward(Variable(image)).value()(0, 0)));  // off: silent
  tg::autograd::DetectAnomalyGuard guard;
  CHECK_THROWS_WITH_AS(net.forward(Variable(image)),
                       doctest::Contains("conv2d returned 2 of 2 values non-finite"), tg::Error);
  CHECK_THROWS_WITH_AS(net.forward(Variable(image)),
                       doctest::Contains("inputs of shapes [1, 1, 3, 3], [2, 1, 3, 3], [2], in module "
                                         "ConvNet.features.0 (Conv2d)"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(net.forward(Variable(image)),
                       doctest::Contains("input 0 already holds 1 of 9 values non-finite"), tg::Error);
  // The stack unwound with the error: a layer called alone is named by its type.
  CHECK(tg::autograd::current_module_path().empty());
  CHECK_THROWS_WITH_AS(net.fc(tg::full(Shape{1, 2}, INFINITY)),
                       doctest::Contains("in module Linear; input 0 already holds"), tg::Error);
}

TEST_CASE("EvalOnThisThread: eval mode on the calling thread only, flags untouched, nesting") {
  auto model = nn::Sequential(nn::Linear(2, 2), nn::BatchNorm1d(2));
  REQUIRE(model->is_training());
  {
    nn::EvalOnThisThread outer;
    CHECK(!model->is_training());
    CHECK(!model->at<nn::BatchNormImpl>(1).is_training());
    bool other_thread = false;
    std::thread([&] { other_thread = model->is_training(); }).join();
    CHECK(other_thread);  // another thread sees the module's own flag
    {
      nn::EvalOnThisThread inner;
      CHECK(!model->is_training());
    }
    CHECK(!model->is_training());
  }
  CHECK(model->is_training());
  model->eval();
  CHECK(!model->is_training());  // the flag itself still works as before
}

TEST_CASE("module->to(device) is a no-op on the CPU and a clear error for CUDA, as LibTorch ports need") {
  nn::Linear fc(3, 2);
  const Variable w = fc->weight;
  tg::Device device = tg::kCPU;
  if (tg::cuda::is_available()) device = tg::Device(tg::kCUDA);
  fc->to(device);
  fc->to(tg::kCPU, /*non_blocking=*/true);
  fc->to(tg::kFloat32);
  CHECK(fc->weight.node() == w.node());  // the same parameters, nothing copied
  CHECK_THROWS_WITH_AS(fc->to(tg::Device("cuda:0")),
                       doctest::Contains("tapegrad runs on the CPU only: Module::to was asked for device cuda:0"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(fc->to(tg::kFloat64), doctest::Contains("Module::to: expected dtype Float"), tg::Error);
}
