// save / load: a module's state dict through a safetensors file, PyTorch's names both ways.
#include <doctest/doctest.h>

#include "nn/nn.hpp"
#include "test_util.hpp"

namespace {

using tg::Shape;
using tg::Tensor;
using tg::Variable;
namespace nn = tg::nn;
using nn_test::TempDir;

// The PyTorch model the reference file holds the state dict of.
nn::Sequential reference_model() {
  return nn::Sequential(nn::Conv2d(1, 2, 3), nn::BatchNorm2d(2), nn::Flatten(), nn::Linear(8, 3));
}

}  // namespace

TEST_CASE("save then load reproduces the model's outputs and buffers") {
  TempDir dir("ser_roundtrip");
  tg::manual_seed(31);
  auto a = reference_model();
  auto x = tg::randn(Shape{4, 1, 4, 4});
  a(x);  // moves the BatchNorm statistics away from their initial values
  a(x);
  nn::save(a, dir / "a.safetensors", {{"epoch", "2"}});
  auto archive = nn::read_safetensors(dir / "a.safetensors");
  CHECK(archive.metadata.at("epoch") == "2");
  CHECK(archive.dtypes.at("1.num_batches_tracked") == nn::Dtype::I64);
  CHECK(archive.tensors.size() == 9);

  auto b = reference_model();
  nn::load(b, dir / "a.safetensors");
  CHECK(b->state_dict().at("1.num_batches_tracked")() == 2.0f);
  a->eval();
  b->eval();
  CHECK(a(x).value() == b(x).value());
}

TEST_CASE("a file with PyTorch's layout loads into the same architecture") {
  auto model = reference_model();
  nn::load(model, nn_test::fixtures() / "reference_state_dict.safetensors");
  auto& bn = model->at<nn::BatchNorm2dImpl>(1);
  CHECK(bn.num_batches_tracked.value()() == 7.0f);
  CHECK(bn.running_var.value() == Tensor{1.0f, 1.25f});
  auto& fc = model->at<nn::LinearImpl>(3);
  auto file = nn::read_safetensors(nn_test::fixtures() / "reference_state_dict.safetensors");
  CHECK(fc.weight.value() == file.tensors.at("3.weight"));
  CHECK(model(tg::zeros(Shape{1, 1, 4, 4})).shape() == Shape{1, 3});
}

TEST_CASE("load errors name the file and the entry; strict=false skips missing and extra keys") {
  TempDir dir("ser_errors");
  auto path = nn_test::fixtures() / "reference_state_dict.safetensors";
  auto wider =
      nn::Sequential(nn::Conv2d(1, 2, 3), nn::BatchNorm2d(2), nn::Flatten(), nn::Linear(8, 4));
  CHECK_THROWS_WITH_AS(
      nn::load(wider, path),
      doctest::Contains("reference_state_dict.safetensors': load_state_dict: expected "
                        "'3.weight' of shape [4, 8], got [3, 8]"),
      tg::Error);
  auto deeper = nn::Sequential(nn::Conv2d(1, 2, 3), nn::BatchNorm2d(2), nn::Flatten(),
                               nn::Linear(8, 3), nn::Linear(3, 3));
  CHECK_THROWS_WITH_AS(nn::load(deeper, path), doctest::Contains("expected key '4.weight'"),
                       tg::Error);
  CHECK_NOTHROW(nn::load(deeper, path, false));
  CHECK(deeper->at<nn::LinearImpl>(3).bias.value() ==
        nn::read_safetensors(path).tensors.at("3.bias"));
  auto shallower = nn::Sequential(nn::Conv2d(1, 2, 3));
  CHECK_THROWS_WITH_AS(nn::load(shallower, path), doctest::Contains("unexpected key '1.bias'"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(nn::load(shallower, dir / "absent.safetensors"),
                       doctest::Contains("absent.safetensors"), tg::Error);
}

TEST_CASE("a frozen, reloaded backbone with a new head: names and requires_grad survive") {
  TempDir dir("ser_transfer");
  tg::manual_seed(32);
  auto pretrained = reference_model();
  nn::save(pretrained, dir / "backbone.safetensors");
  auto model = reference_model();
  nn::load(model, dir / "backbone.safetensors");
  for (auto& [name, p] : model->named_parameters())
    if (name.rfind("3.", 0) != 0) p.set_requires_grad(false);
  model->at<nn::LinearImpl>(3).reset_parameters();
  tg::sum(model(tg::randn(Shape{2, 1, 4, 4}))).backward();
  for (auto& [name, p] : model->named_parameters())
    CHECK_MESSAGE(p.has_grad() == (name.rfind("3.", 0) == 0), name);
}
