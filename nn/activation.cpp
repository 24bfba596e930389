#include "tapegrad/nn/activation.hpp"

#include "tapegrad/autograd/elementwise.hpp"
#include "tapegrad/autograd/loss.hpp"
#include "tapegrad/autograd/normalization.hpp"
#include "tapegrad/nn/format.hpp"

namespace tg::nn {

Variable ReLUImpl::forward(const Variable& x) { return relu(x); }
Variable ReLUImpl::forward_owned(Variable x) { return relu(std::move(x)); }

Variable LeakyReLUImpl::forward(const Variable& x) {
  return leaky_relu(x, static_cast<float>(negative_slope));
}

std::string LeakyReLUImpl::extra_repr() const {
  return "negative_slope=" + detail::py_float(negative_slope);
}

Variable SigmoidImpl::forward(const Variable& x) { return sigmoid(x); }
Variable TanhImpl::forward(const Variable& x) { return tanh(x); }
Variable SoftmaxImpl::forward(const Variable& x) { return softmax(x, dim); }
Variable LogSoftmaxImpl::forward(const Variable& x) { return log_softmax(x, dim); }

DropoutImpl::DropoutImpl(double p) : p(p) {
  TG_CHECK(p >= 0 && p <= 1, "Dropout: expected a probability p in [0, 1], got ", p);
}

Variable DropoutImpl::forward(const Variable& x) {
  if (is_training() && p >= 1.0) return x * 0.0f;  // PyTorch gives zeros, not 0 * inf
  return dropout(x, static_cast<float>(p), is_training());
}

std::string DropoutImpl::extra_repr() const {
  return "p=" + detail::py_float(p) + ", inplace=False";
}

}  // namespace tg::nn
