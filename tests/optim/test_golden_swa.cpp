// AveragedModel (SWA and EMA, with and without use_buffers) and update_bn against PyTorch 1.13's
// numbers (tests/optim/golden/make_swa_golden.py says how they were made).
#include <cmath>
#include <map>
#include <string>

#include <tapegrad/autograd/pooling.hpp>
#include <tapegrad/autograd/shape_ops.hpp>
#include "golden/swa_golden.hpp"
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/optim/swa_utils.hpp>
#include "test_util.hpp"

using namespace tg;
using namespace tg::optim;
using tg::test::golden::kSwaGolden;
using tg::test::golden::NamedValues;

namespace {

// The golden script's SmallNet, layer for layer.
struct SmallNet : nn::Module {
  nn::Conv2d conv{2, 3, 3, {.padding = 1}};
  nn::BatchNorm2d bn{3};
  nn::Linear fc{3, 4};
  SmallNet() {
    register_module("conv", conv);
    register_module("bn", bn);
    register_module("fc", fc);
  }
  Variable forward(const Variable& x) {
    return fc(flatten(adaptive_avg_pool2d(relu(bn(conv(x))), {1, 1}), 1));
  }
};

struct Batch {
  Variable images;
};

Tensor shaped(const std::vector<float>& values, const Shape& shape) {
  Tensor t = empty_tensor(shape);
  REQUIRE(t.size() == values.size());
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

void load(SmallNet& model, const std::vector<NamedValues>& state) {
  const nn::StateDict current = model.state_dict();
  std::map<std::string, Tensor> dict;
  for (const NamedValues& e : state) dict[e.name] = shaped(e.values, current.at(e.name).shape());
  model.load_state_dict(dict);
}

void check_state(const nn::StateDict& got, const std::vector<NamedValues>& want) {
  CHECK(got.size() == want.size());
  for (const NamedValues& e : want) {
    CAPTURE(e.name);
    REQUIRE(got.contains(e.name));
    tg::test::check_close(got.at(e.name), shaped(e.values, got.at(e.name).shape()), 1e-6, 1e-5);
  }
}

}  // namespace

TEST_CASE("AveragedModel and update_bn match PyTorch 1.13 (SWA, EMA 0.9, with and without use_buffers)") {
  const Variable x(shaped(test::golden::kSwaInput, {2, 2, 4, 4}));
  std::vector<Batch> loader;
  for (const std::vector<float>& b : test::golden::kSwaBatches) loader.push_back({Variable(shaped(b, {4, 2, 4, 4}))});
  for (const auto& g : kSwaGolden) {
    CAPTURE(g.name);
    SmallNet model;
    load(model, g.initial);
    swa_utils::AveragedModel averaged(model, std::isnan(g.ema_decay) ? swa_utils::swa() : swa_utils::ema(g.ema_decay),
                                      g.use_buffers);
    for (const std::vector<NamedValues>& state : g.updates) {
      load(model, state);
      averaged.update_parameters(model);
    }
    CHECK(averaged.n_averaged() == 4);
    check_state(averaged.state_dict(), g.averaged);
    model.eval();
    tg::test::check_close(averaged.forward(x).value(), shaped(g.output, {2, 4}), 1e-5, 1e-5);

    swa_utils::update_bn(loader, averaged);
    CHECK_FALSE(model.is_training());  // update_bn restores the mode it found
    check_state(averaged.state_dict(), g.averaged_after_update_bn);
    tg::test::check_close(averaged.forward(x).value(), shaped(g.output_after_update_bn, {2, 4}), 1e-5, 1e-5);
    // The model's own values are untouched by the average.
    check_state(model.state_dict(), g.updates.back());
  }
}
