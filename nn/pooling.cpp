#include "tapegrad/nn/pooling.hpp"

#include "tapegrad/autograd/pooling.hpp"
#include "tapegrad/nn/format.hpp"

namespace tg::nn {

namespace {

void check_4d(const Variable& x, const std::string& layer) {
  TG_CHECK(x.dim() == 4, layer, ": expected input of shape [N, C, H, W], got ",
           shape_str(x.shape()));
}

}  // namespace

Pool2dImpl::Pool2dImpl(Kind kind, Size2 kernel_size, Size2 stride_, Size2 padding, bool ceil_mode,
                       bool count_include_pad)
    : kind(kind),
      kernel_size(kernel_size),
      stride(stride_ == Size2(0) ? kernel_size : stride_),
      padding(padding),
      ceil_mode(ceil_mode),
      count_include_pad(count_include_pad) {
  TG_CHECK(kernel_size.h > 0 && kernel_size.w > 0, name(),
           ": expected a positive kernel_size, got ", kernel_size.tuple_str());
  TG_CHECK(stride.h > 0 && stride.w > 0, name(), ": expected a positive stride, got ",
           stride.tuple_str());
  TG_CHECK(padding.h >= 0 && padding.w >= 0 && 2 * padding.h <= kernel_size.h &&
               2 * padding.w <= kernel_size.w,
           name(), ": expected 0 <= padding <= kernel_size / 2, got padding ", padding.tuple_str(),
           " with kernel_size ", kernel_size.tuple_str());
}

std::string Pool2dImpl::name() const {
  switch (kind) {
    case Kind::Max:
      return "MaxPool2d";
    case Kind::Min:
      return "MinPool2d";
    case Kind::Avg:
      return "AvgPool2d";
  }
  return "Pool2d";
}

Variable Pool2dImpl::forward(const Variable& x) {
  check_4d(x, name());
  Pool2dOptions o;
  o.kernel_h = kernel_size.h, o.kernel_w = kernel_size.w;
  o.stride_h = stride.h, o.stride_w = stride.w;
  o.padding_h = padding.h, o.padding_w = padding.w;
  o.ceil_mode = ceil_mode;
  o.count_include_pad = count_include_pad;
  switch (kind) {
    case Kind::Max:
      return max_pool2d(x, o);
    case Kind::Min:
      return min_pool2d(x, o);
    case Kind::Avg:
      return avg_pool2d(x, o);
  }
  TG_ASSERT(false, "unknown pooling kind");
}

// PyTorch prints each argument as it was given (a number or a tuple); stride=None prints as
// the kernel size. AvgPool2d prints only kernel_size, stride and padding.
std::string Pool2dImpl::extra_repr() const {
  std::string s = "kernel_size=" + kernel_size.str() + ", stride=" + stride.str() +
                  ", padding=" + padding.str();
  if (kind == Kind::Avg) return s;
  return s + ", dilation=1, ceil_mode=" + detail::py_bool(ceil_mode);
}

AdaptiveAvgPool2dImpl::AdaptiveAvgPool2dImpl(Size2 output_size) : output_size(output_size) {
  TG_CHECK(output_size.h > 0 && output_size.w > 0,
           "AdaptiveAvgPool2d: expected a positive output_size, got ", output_size.tuple_str());
}

Variable AdaptiveAvgPool2dImpl::forward(const Variable& x) {
  check_4d(x, "AdaptiveAvgPool2d");
  return adaptive_avg_pool2d(x, {output_size.h, output_size.w});
}

}  // namespace tg::nn
