#include "tapegrad/nn/linear.hpp"

#include <cmath>

#include "tapegrad/autograd/linalg.hpp"
#include "tapegrad/nn/format.hpp"
#include "tapegrad/nn/init.hpp"

namespace tg::nn {

LinearImpl::LinearImpl(std::int64_t in_features, std::int64_t out_features, bool with_bias)
    : in_features(in_features), out_features(out_features),
      options{in_features, out_features, with_bias} {
  TG_CHECK(in_features > 0 && out_features > 0,
           "Linear: expected positive sizes, got in_features = ", in_features,
           ", out_features = ", out_features);
  const Shape w = checked_shape({out_features, in_features}, "Linear weight");
  weight = register_parameter("weight", Variable(checked_empty(w, "Linear weight")));
  if (with_bias)
    bias = register_parameter(
        "bias", Variable(checked_empty(checked_shape({out_features}, "Linear bias"), "Linear bias")));
  reset_parameters();
}

// PyTorch: kaiming_uniform_(weight, a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)), then the
// bias from the same bound.
void LinearImpl::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    init::uniform_(bias, -bound, bound);
  }
}

namespace {
// Images fed straight to a classifier: [N, 1, 28, 28] into Linear(784, 10) wants a flatten.
std::string flatten_hint(const Shape& shape, std::int64_t in_features) {
  if (shape.size() < 3) return {};
  std::size_t per_sample = 1;
  for (std::size_t d = 1; d < shape.size(); ++d) per_sample *= shape[d];
  if (per_sample != static_cast<std::size_t>(in_features)) return {};
  return "; flatten each sample first: x.flatten(1) gives [" + std::to_string(shape[0]) + ", " +
         std::to_string(in_features) + "] (or put nn::Flatten() before this layer)";
}
}  // namespace

Variable LinearImpl::forward(const Variable& x) {
  const bool matches = x.dim() >= 1 && x.shape().back() == static_cast<std::size_t>(in_features);
  TG_CHECK(matches, "Linear: expected input of shape [..., ", in_features, "], got ",
           shape_str(x.shape()), flatten_hint(x.shape(), in_features));
  return linear(x, weight, bias);
}

std::string LinearImpl::extra_repr() const {
  return "in_features=" + std::to_string(in_features) +
         ", out_features=" + std::to_string(out_features) +
         ", bias=" + detail::py_bool(bias.defined());
}

std::uint64_t LinearImpl::multiply_adds(const Shape& /*in*/, const Shape& out) const {
  return static_cast<std::uint64_t>(numel_of(out)) * static_cast<std::uint64_t>(in_features);
}

std::string FlattenImpl::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

}  // namespace tg::nn
