// save / load: a module's state dict through a safetensors file, PyTorch's names both ways.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include <tapegrad/nn/nn.hpp>
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
  CHECK_THROWS_WITH_AS(nn::load(deeper, path), doctest::Contains("Missing key(s) in state_dict: \"4.weight\", \"4.bias\"."),
                       tg::Error);
  CHECK_NOTHROW(nn::load(deeper, path, false));
  CHECK(deeper->at<nn::LinearImpl>(3).bias.value() ==
        nn::read_safetensors(path).tensors.at("3.bias"));
  auto shallower = nn::Sequential(nn::Conv2d(1, 2, 3));
  CHECK_THROWS_WITH_AS(nn::load(shallower, path), doctest::Contains("Unexpected key(s) in state_dict: \"1.bias\", "
                                         "\"1.num_batches_tracked\", \"1.running_mean\", "
                                         "\"1.running_var\", \"1.weight\", \"3.bias\", "
                                         "\"3.weight\"."),
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

TEST_CASE("BatchNorm statistics that make no sense do not load, and change nothing") {
  TempDir dir("ser_bad_bn");
  auto model = reference_model();
  const auto good = nn::to_archive(model->state_dict());
  struct Case {
    const char* key;
    float value;
    const char* message;
  };
  const Case cases[] = {
      {"1.running_var", -1.0f, "expected '1.running_var' to hold variances (finite, >= 0), got -1"},
      {"1.running_var", INFINITY, "expected '1.running_var' to hold variances"},
      {"1.running_var", NAN, "expected '1.running_var' to hold variances"},
      {"1.running_mean", INFINITY, "expected '1.running_mean' to hold finite means, got inf"},
      {"1.num_batches_tracked", -5.0f, "expected '1.num_batches_tracked' to hold a count"},
  };
  for (const auto& c : cases) {
    auto bad = good;
    bad.tensors.at(c.key).data()[0] = c.value;
    if (std::string(c.key) == "1.num_batches_tracked") bad.dtypes.erase(c.key);  // F32: -5 fits
    nn::write_safetensors(dir / "bad.safetensors", bad);
    auto target = reference_model();
    target->at<nn::LinearImpl>(3).bias.value().data()[0] = 42.0f;
    const auto before = target->state_dict();
    CHECK_THROWS_WITH_AS(nn::load(target, dir / "bad.safetensors"),
                         doctest::Contains(c.message), tg::Error);
    CHECK(target->state_dict().at("3.bias") == before.at("3.bias"));
    CHECK(target->state_dict().at("1.running_var") == before.at("1.running_var"));
  }
}

TEST_CASE("strict load_state_dict lists every missing and unexpected key, as PyTorch") {
  auto model = reference_model();
  std::map<std::string, Tensor> dict;
  for (const auto& e : model->state_dict()) dict[e.name] = e.value;
  dict.erase("0.bias");
  dict.erase("3.weight");
  dict["extra.a"] = Tensor{1.0f};
  dict["extra.b"] = Tensor{1.0f};
  CHECK_THROWS_WITH_AS(model->load_state_dict(dict),
                       doctest::Contains("Missing key(s) in state_dict: \"0.bias\", \"3.weight\". "
                                         "Unexpected key(s) in state_dict: \"extra.a\", "
                                         "\"extra.b\"."),
                       tg::Error);
  // Many hostile keys: the message stays short (100 keys of at most 60 bytes).
  for (int i = 0; i < 5000; ++i) dict[std::string(1000, 'k') + std::to_string(i)] = Tensor{1.0f};
  try {
    model->load_state_dict(dict);
    FAIL("expected a tg::Error");
  } catch (const tg::Error& e) {
    const std::string message = e.what();
    CHECK(message.find("and 4902 more.") != std::string::npos);
    CHECK(message.size() < 12'000);
  }
}

TEST_CASE("strict load accepts a state dict without num_batches_tracked, which keeps its value") {
  // PyTorch's strict load_state_dict accepts it too (BatchNorm's _load_from_state_dict).
  TempDir dir("ser_nbt");
  tg::manual_seed(5);
  auto a = reference_model();
  a(tg::randn(Shape{4, 1, 4, 4}));
  nn::TensorArchive archive = nn::to_archive(a->state_dict());
  archive.tensors.erase("1.num_batches_tracked");
  archive.dtypes.erase("1.num_batches_tracked");
  nn::write_safetensors(dir / "old.safetensors", archive);

  auto b = reference_model();
  b(tg::randn(Shape{4, 1, 4, 4}));
  b(tg::randn(Shape{4, 1, 4, 4}));
  REQUIRE(b->state_dict().at("1.num_batches_tracked")() == 2.0f);
  nn::load(b, dir / "old.safetensors");  // strict
  CHECK(b->state_dict().at("1.num_batches_tracked")() == 2.0f);
  CHECK(b->state_dict().at("1.running_mean") == a->state_dict().at("1.running_mean"));
  // Any other missing buffer still is an error.
  archive.tensors.erase("1.running_var");
  nn::write_safetensors(dir / "older.safetensors", archive);
  CHECK_THROWS_WITH_AS(nn::load(b, dir / "older.safetensors"),
                       doctest::Contains("Missing key(s) in state_dict: \"1.running_var\"."),
                       tg::Error);
}
