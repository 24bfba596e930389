#pragma once
// The parity driver of the zoo tests: reads a golden file written by golden/make_golden.py
// (torchvision 0.14 on the same weights), fills the model's state dict with the weights the
// script used (a hash of each entry's name and index: fill() is make_golden.py's fill()), and
// compares state-dict names/dtypes/shapes, eval-mode logits, and training-mode logits, loss,
// gradients and BatchNorm running statistics.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <tapegrad/nn/nn.hpp>
#include "test_util.hpp"

namespace tg::test::zoo {

/// make_golden.py's fill(): offset + (2u - 1) * bound, u from a 32-bit hash of (name, index).
inline Tensor fill(const std::string& name, const Shape& shape, double offset, double bound) {
  std::uint32_t seed = 2166136261u;  // FNV-1a of the name
  for (unsigned char c : name) seed = (seed ^ c) * 16777619u;
  Tensor t = empty_tensor(shape);
  float* out = t.data();
  for (std::size_t i = 0; i < t.size(); ++i) {
    std::uint32_t x = static_cast<std::uint32_t>(i) * 0x9E3779B1u ^ seed;
    x ^= x >> 16, x *= 0x85EBCA6Bu, x ^= x >> 13, x *= 0xC2B2AE35u, x ^= x >> 16;
    const double u = (static_cast<double>(x) + 0.5) / 4294967296.0;
    out[i] = static_cast<float>(offset + (2.0 * u - 1.0) * bound);
  }
  return t;
}

/// A JSON array of sizes as a Shape (through std::vector: nlohmann's direct conversion to
/// xtensor's small vector trips GCC's -Warray-bounds).
inline Shape to_shape(const nlohmann::json& sizes) {
  const auto v = sizes.get<std::vector<std::size_t>>();
  return Shape(v.begin(), v.end());
}

/// One model's golden file.
struct Golden {
  nn::TensorArchive archive;
  nlohmann::json manifest;  ///< [[name, dtype, shape, offset, bound], ...] in torchvision's order
  Shape input_shape, train_input_shape;  ///< eval and training batches
  const Tensor& at(const std::string& key) const {
    const auto it = archive.tensors.find(key);
    REQUIRE_MESSAGE(it != archive.tensors.end(), "golden entry missing: ", key);
    return it->second;
  }
};

inline Golden read_golden(const std::string& model) {
  Golden g;
  g.archive = nn::read_safetensors(std::string(TAPEGRAD_VISION_GOLDEN_DIR) + "/" + model +
                                   ".safetensors");
  g.manifest = nlohmann::json::parse(g.archive.metadata.at("manifest"));
  g.input_shape = to_shape(nlohmann::json::parse(g.archive.metadata.at("input_shape")));
  g.train_input_shape =
      to_shape(nlohmann::json::parse(g.archive.metadata.at("train_input_shape")));
  return g;
}

/// The state dict's names, dtypes and shapes are the manifest's, in the same order.
inline void check_manifest(const nn::Module& model, const Golden& g) {
  const nn::StateDict dict = model.state_dict();
  REQUIRE(dict.size() == g.manifest.size());
  std::size_t i = 0;
  for (const auto& e : dict) {
    const auto& m = g.manifest[i++];
    CHECK(e.name == m[0].get<std::string>());
    CHECK(std::string(nn::dtype_name(e.dtype)) == m[1].get<std::string>());
    CHECK_MESSAGE(e.value.shape() == to_shape(m[2]), e.name, ": ",
                  shape_str(e.value.shape()));
  }
}

/// The weights make_golden.py gave torchvision's model, as a state dict.
inline nn::StateDict golden_state(const Golden& g) {
  nn::StateDict dict;
  for (const auto& m : g.manifest) {
    const auto name = m[0].get<std::string>();
    Tensor v = fill(name, to_shape(m[2]), m[3].get<double>(), m[4].get<double>());
    dict.insert(name, std::move(v), m[1] == "I64" ? nn::Dtype::I64 : nn::Dtype::F32);
  }
  return dict;
}

/// The eval-mode batch and the training batch make_golden.py used.
inline Tensor golden_input(const Golden& g) { return fill("input", g.input_shape, 0.0, 1.0); }
inline Tensor golden_train_input(const Golden& g) {
  return fill("train_input", g.train_input_shape, 0.0, 1.0);
}

inline Labels golden_labels(const Golden& g) {
  const Tensor& l = g.at("labels");
  Labels labels = xt::zeros<std::int64_t>({l.size()});
  for (std::size_t i = 0; i < l.size(); ++i) labels(i) = static_cast<std::int64_t>(l.data()[i]);
  return labels;
}

/// Logits within 1e-4 + 1e-4 |ref|.
inline void check_logits(const Tensor& actual, const Tensor& expected) {
  check_close(actual, expected, 1e-4, 1e-4);
}

// The sanitizer build compiles at -O1, so its sums run in other orders than Release's; that build
// is there for memory errors: it gets 5e-3.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr double kGradientTolerance = 5e-3;
#else
inline constexpr double kGradientTolerance = 1e-3;
#endif

// ResNet-50's training step is chaotic at float precision: a ReLU input within rounding of 0
// goes either way, and through its 53 batch-normalised layers one such flip moves gradients by
// 1e-3 or more. Measured on its golden batch with the direct convolutions: scaling the input by
// 1 + 1e-7 (a few ulps) moved no gradient more than 2.1e-5 from PyTorch's, 1 + 1e-6 moved them
// up to 8.8e-3, 1 + 1e-5 up to 2.3e-2. Winograd's products differ from the direct sums by
// 3e-7 - 1.2e-6 (relative), so on an AVX2 CPU (AMD EPYC, 8 lanes) conv1's gradient came out
// 2.7e-3 from PyTorch's, and 3.5e-3 for a BatchNorm weight; on an AVX-512 CPU under 1e-3. No
// wrong wiring would hide under 2e-2: a missing or misrouted term moves a gradient by O(1).
inline constexpr double kChaoticGradientTolerance = 2e-2;

/// ||actual - expected|| <= tolerance ||expected||.
inline void check_relative(const std::string& name, const Tensor& actual, const Tensor& expected,
                           double tolerance = kGradientTolerance) {
  REQUIRE_MESSAGE(actual.shape() == expected.shape(), name);
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = actual.data()[i], e = expected.data()[i];
    diff += (a - e) * (a - e), norm += e * e;
  }
  CHECK_MESSAGE(std::sqrt(diff) <= tolerance * std::sqrt(norm) + 1e-12, name, ": |diff| ",
                std::sqrt(diff), ", |ref| ", std::sqrt(norm));
}

/// Training-mode logits and loss of one step (the loss not yet backpropagated).
struct TrainStep {
  Variable logits, loss;
};

/// The whole parity check of one model. `eval_logits(x)` runs it in eval mode; `train_step(x,
/// labels)` in training mode; gradients and the weights after the step are held to
/// `gradient_tolerance` (relative). Returns the number of gradients compared.
template <class M>
std::size_t check_parity(M& model, const Golden& g,
                         const std::function<Variable(Variable)>& eval_logits,
                         const std::function<TrainStep(Variable, const Labels&)>& train_step,
                         double gradient_tolerance = kGradientTolerance) {
  check_manifest(model, g);
  model.load_state_dict(golden_state(g), /*strict=*/true);
  model.eval();
  {
    NoGradGuard no_grad;
    check_logits(eval_logits(Variable(golden_input(g))).value(), g.at("logits_eval"));
  }
  model.train();
  TrainStep step = train_step(Variable(golden_train_input(g)), golden_labels(g));
  check_logits(step.logits.value(), g.at("logits_train"));
  CHECK(step.loss.item() == doctest::Approx(g.at("loss_train").data()[0]).epsilon(1e-4));
  step.loss.backward();
  std::size_t compared = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    if (!g.archive.tensors.count("grad/" + name)) continue;
    check_relative(name, p.grad(), g.at("grad/" + name), gradient_tolerance);
    ++compared;
  }
  const nn::StateDict after = model.state_dict();
  for (const auto& [key, ref] : g.archive.tensors)
    if (key.rfind("after/", 0) == 0)
      check_relative(key, after.at(key.substr(6)), ref, gradient_tolerance);
  return compared;
}

/// check_parity for a model whose forward returns the logits, with a cross-entropy loss.
template <class M>
std::size_t check_parity(M& model, const Golden& g, double gradient_tolerance = kGradientTolerance) {
  return check_parity(
      model, g, [&](Variable x) { return model.forward(x); },
      [&](Variable x, const Labels& labels) {
        Variable logits = model.forward(x);
        return TrainStep{logits, cross_entropy(logits, labels)};
      },
      std::max(gradient_tolerance, kGradientTolerance));
}

}  // namespace tg::test::zoo
