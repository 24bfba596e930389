#include "tapegrad/nn/upsample.hpp"

#include "tapegrad/nn/format.hpp"

namespace tg::nn {

namespace {

InterpolateFuncOptions func_options(const UpsampleOptions& o) {
  return {.size = o.size, .scale_factor = o.scale_factor, .mode = o.mode,
          .align_corners = o.align_corners};
}

}  // namespace

UpsampleImpl::UpsampleImpl(UpsampleOptions options) : options(std::move(options)) {
  const UpsampleOptions& o = this->options;
  TG_CHECK(o.size.empty() != o.scale_factor.empty(),
           "Upsample: expected exactly one of size and scale_factor, got ",
           o.size.empty() ? "neither" : "both");
  TG_CHECK(o.mode == InterpolateMode::Bilinear || !o.align_corners.has_value(),
           "Upsample: align_corners can only be set with bilinear mode");
}

Variable UpsampleImpl::forward(const Variable& x) { return interpolate(x, func_options(options)); }

// PyTorch's Upsample.extra_repr: "scale_factor=..., mode='...'" or "size=..., mode='...'".
std::string UpsampleImpl::extra_repr() const {
  std::string s;
  const bool by_factor = !options.scale_factor.empty();
  const std::size_t count = by_factor ? options.scale_factor.size() : options.size.size();
  s.append(by_factor ? "scale_factor=" : "size=");
  if (count > 1) s.push_back('(');
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) s.append(", ");
    s.append(by_factor ? detail::py_float(options.scale_factor[i])
                       : std::to_string(options.size[i]));
  }
  if (count > 1) s.push_back(')');
  s.append(options.mode == InterpolateMode::Nearest ? ", mode='nearest'" : ", mode='bilinear'");
  return s;
}

}  // namespace tg::nn
