#include "tapegrad/nn/dropout.hpp"

#include "tapegrad/autograd/normalization.hpp"
#include "tapegrad/nn/format.hpp"

namespace tg::nn {

Dropout2dImpl::Dropout2dImpl(Dropout2dOptions options) : options(options) {
  TG_CHECK(options.p >= 0 && options.p <= 1,
           "Dropout2d: expected a probability p in [0, 1], got ", options.p);
}

Variable Dropout2dImpl::forward(const Variable& x) {
  return dropout2d(x, static_cast<float>(options.p), is_training());
}

std::string Dropout2dImpl::extra_repr() const {
  return "p=" + detail::py_float(options.p) + ", inplace=" + (options.inplace ? "True" : "False");
}

}  // namespace tg::nn
