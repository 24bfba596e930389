#pragma once
/// @file
/// tg::nn::summary: a table of a model's layers (name, type, output shape, parameters,
/// multiply-adds), like torchinfo's summary, made by running one forward pass.
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/autograd/factories.hpp"
#include "tapegrad/nn/module.hpp"

namespace tg::nn {

/// One call of a leaf layer during the summary's forward pass.
struct SummaryRow {
  std::string name;  ///< dotted name ("layer1.0.conv1"); "" for the model itself
  std::string type;  ///< "Conv2d"
  Shape output_shape;  ///< batch included
  std::size_t parameters = 0;       ///< the layer's own; 0 on a repeated call of the same layer
  bool repeated = false;            ///< the layer was already called earlier in the pass
  std::uint64_t multiply_adds = 0;  ///< Conv2d and Linear (others count 0)
};

/// The rows and the totals (parameters from the model itself, so each shared one counts once).
struct Summary {
  std::vector<SummaryRow> rows;  ///< one per leaf-layer call, in call order
  ///@{
  /// Parameter elements of the model, all of them and those requiring grad.
  std::size_t total_parameters = 0, trainable_parameters = 0;
  ///@}
  std::uint64_t total_multiply_adds = 0;  ///< sum over the rows: one forward of the given batch
  /// The table, one line per row, totals at the end.
  std::string str() const;
};

namespace detail {
/// Collects the calls of the layers below `model` while `run` executes a forward pass (in eval
/// mode, without a graph; the model's modes are restored afterwards).
Summary summarize(Module& model, const std::function<void()>& run);
}  // namespace detail

/// Runs model.forward on zeros of `input_shape` (batch included: {1, 3, 32, 32}) and reports
/// every call of a leaf layer (built-in layers, and user modules run inside a Sequential).
template <class M>
Summary summarize(M& model, const Shape& input_shape) {
  return detail::summarize(detail::as_module(model), [&] { model.forward(zeros(input_shape)); });
}

/// summarize(model, input_shape).str().
template <class M>
std::string summary(M& model, const Shape& input_shape) {
  return summarize(model, input_shape).str();
}

}  // namespace tg::nn
