#include "tapegrad/nn/conv.hpp"

#include <cmath>

#include "tapegrad/autograd/conv.hpp"
#include "tapegrad/nn/format.hpp"
#include "tapegrad/nn/init.hpp"

namespace tg::nn {

Conv2dImpl::Conv2dImpl(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size,
                       Conv2dOptions options)
    : in_channels(in_channels),
      out_channels(out_channels),
      kernel_size(kernel_size),
      options(options) {
  this->options.in_channels = in_channels;
  this->options.out_channels = out_channels;
  this->options.kernel_size = kernel_size;
  const auto& o = options;
  TG_CHECK(in_channels > 0 && out_channels > 0, "Conv2d: expected positive channels, got ",
           in_channels, " and ", out_channels);
  TG_CHECK(kernel_size.h > 0 && kernel_size.w > 0, "Conv2d: expected a positive kernel_size, got ",
           kernel_size.tuple_str());
  TG_CHECK(o.stride.h > 0 && o.stride.w > 0, "Conv2d: expected a positive stride, got ",
           o.stride.tuple_str());
  TG_CHECK(o.padding.h >= 0 && o.padding.w >= 0, "Conv2d: expected padding >= 0, got ",
           o.padding.tuple_str());
  TG_CHECK(o.dilation.h > 0 && o.dilation.w > 0, "Conv2d: expected a positive dilation, got ",
           o.dilation.tuple_str());
  TG_CHECK(o.groups > 0 && in_channels % o.groups == 0 && out_channels % o.groups == 0,
           "Conv2d: expected in_channels and out_channels divisible by groups, got ", in_channels,
           ", ", out_channels, " and groups = ", o.groups);
  const Shape w = checked_shape(
      {out_channels, in_channels / o.groups, kernel_size.h, kernel_size.w}, "Conv2d weight");
  weight = register_parameter("weight", Variable(checked_empty(w, "Conv2d weight")));
  if (o.bias)
    bias = register_parameter(
        "bias", Variable(checked_empty(checked_shape({out_channels}, "Conv2d bias"), "Conv2d bias")));
  reset_parameters();
}

// PyTorch: kaiming_uniform_(weight, a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the bias
// from the same bound.
void Conv2dImpl::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const auto fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    init::uniform_(bias, -bound, bound);
  }
}

Variable Conv2dImpl::forward(const Variable& x) {
  TG_CHECK(x.dim() == 4 && x.shape()[1] == static_cast<std::size_t>(in_channels),
           "Conv2d: expected input of shape [N, C, H, W] with C = ", in_channels, ", got ",
           shape_str(x.shape()),
           x.dim() == 3 ? "; for one image [C, H, W] add the batch dimension: "
                          "x.view({1, C, H, W})" : "");
  tg::Conv2dOptions f;
  f.groups = options.groups;
  f.stride_h = options.stride.h, f.stride_w = options.stride.w;
  f.padding_h = options.padding.h, f.padding_w = options.padding.w;
  f.dilation_h = options.dilation.h, f.dilation_w = options.dilation.w;
  f.stride = options.stride.h, f.padding = options.padding.h, f.dilation = options.dilation.h;
  return conv2d(x, weight, bias, f);
}

// PyTorch's Conv2d.extra_repr: padding, dilation and groups only when not the default.
std::string Conv2dImpl::extra_repr() const {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + kernel_size.tuple_str() +
                  ", stride=" + options.stride.tuple_str();
  if (!(options.padding == Size2(0))) s += ", padding=" + options.padding.tuple_str();
  if (!(options.dilation == Size2(1))) s += ", dilation=" + options.dilation.tuple_str();
  if (options.groups != 1) s += ", groups=" + std::to_string(options.groups);
  if (!options.bias) s += ", bias=False";
  return s;
}

std::uint64_t Conv2dImpl::multiply_adds(const Shape& /*in*/, const Shape& out) const {
  const auto per_output = static_cast<std::uint64_t>(in_channels / options.groups) *
                          static_cast<std::uint64_t>(kernel_size.h * kernel_size.w);
  return static_cast<std::uint64_t>(numel_of(out)) * per_output;
}

}  // namespace tg::nn
