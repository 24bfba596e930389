#pragma once
/// @file
/// MaxPool2d, MinPool2d, AvgPool2d, AdaptiveAvgPool2d (torch.nn's pooling layers; MinPool2d is
/// the seed material's min-pooling, printed like MaxPool2d).
#include "tapegrad/autograd/arg.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/size2.hpp"

namespace tg::nn {

/// MaxPool2d's options (torch::nn::MaxPool2dOptions): `MaxPool2d(MaxPool2dOptions(3).stride(2))`
/// or `MaxPool2d({.kernel_size = 3, .stride = 2})`; each field reads as a value and as
/// LibTorch's getter (tapegrad/autograd/arg.hpp). (LibTorch's dilation is not supported.)
/// A non-square kernel given alone is `MaxPool2dOptions(Size2(2, 3))` or
/// `MaxPool2dOptions({{2, 3}})`: LibTorch's `MaxPool2dOptions({2, 3})` would initialise the
/// aggregate from the braced pair, kernel_size 2 and stride 3 (likewise for AvgPool2dOptions).
struct MaxPool2dOptions {
  /// Window height and width (LibTorch's positional argument).
  TG_ARG(MaxPool2dOptions, kernel_size, Size2) = 0;
  /// Step between windows; 0 (the default) means the kernel size, as PyTorch's stride=None
  /// (LibTorch's getter reports the kernel size there, this one 0).
  TG_ARG(MaxPool2dOptions, stride, Size2) = 0;
  /// Implicit -inf padding on each side, at most half the kernel.
  TG_ARG(MaxPool2dOptions, padding, Size2) = 0;
  /// Round the output size up instead of down.
  TG_ARG(MaxPool2dOptions, ceil_mode, bool) = false;
};

/// MinPool2d's options (tapegrad's own layer, the same fields as MaxPool2dOptions).
struct MinPool2dOptions {
  /// Window height and width.
  TG_ARG(MinPool2dOptions, kernel_size, Size2) = 0;
  /// Step between windows; 0: the kernel size.
  TG_ARG(MinPool2dOptions, stride, Size2) = 0;
  /// Implicit +inf padding on each side, at most half the kernel.
  TG_ARG(MinPool2dOptions, padding, Size2) = 0;
  /// Round the output size up instead of down.
  TG_ARG(MinPool2dOptions, ceil_mode, bool) = false;
};

/// AvgPool2d's options (torch::nn::AvgPool2dOptions): `AvgPool2d(AvgPool2dOptions(2).stride(2))`.
/// (LibTorch's divisor_override is not supported.)
struct AvgPool2dOptions {
  /// Window height and width (LibTorch's positional argument).
  TG_ARG(AvgPool2dOptions, kernel_size, Size2) = 0;
  /// Step between windows; 0 (the default) means the kernel size, as PyTorch's stride=None.
  TG_ARG(AvgPool2dOptions, stride, Size2) = 0;
  /// Implicit zero padding on each side, at most half the kernel.
  TG_ARG(AvgPool2dOptions, padding, Size2) = 0;
  /// Round the output size up instead of down.
  TG_ARG(AvgPool2dOptions, ceil_mode, bool) = false;
  /// Count the padding in each window's divisor.
  TG_ARG(AvgPool2dOptions, count_include_pad, bool) = true;
};

/// AdaptiveAvgPool2d's options (torch::nn::AdaptiveAvgPool2dOptions):
/// `AdaptiveAvgPool2d(AdaptiveAvgPool2dOptions({1, 1}))`.
struct AdaptiveAvgPool2dOptions {
  /// Output height and width (LibTorch's positional argument).
  TG_ARG(AdaptiveAvgPool2dOptions, output_size, Size2) = 1;
};

/// What the three windowed pools share: kernel, stride (0, the default: the kernel size, as
/// PyTorch's stride=None), padding, ceil_mode.
class Pool2dImpl : public Layer {
 public:
  /// Which reduction a window makes.
  enum class Kind {
    Max,  ///< MaxPool2d
    Min,  ///< MinPool2d
    Avg   ///< AvgPool2d
  };
  /// Sizes in pixels; a kernel < 1 or padding more than half the kernel throws tg::Error.
  Pool2dImpl(Kind kind, Size2 kernel_size, Size2 stride, Size2 padding, bool ceil_mode,
             bool count_include_pad);
  Variable forward(const Variable& x) override;
  std::string name() const override;
  std::string extra_repr() const override;

  Kind kind;  ///< Max, Min or Avg
  ///@{
  /// Window, step (0: the kernel) and padding per side, in pixels, as constructed.
  Size2 kernel_size, stride, padding;
  ///@}
  ///@{
  /// Round the output size up; count padding in an average's denominator (Avg only).
  bool ceil_mode, count_include_pad;
  ///@}
};

/// Maximum of each window; x [N, C, H, W].
class MaxPool2dImpl : public Pool2dImpl {
 public:
  /// Window, step (0: the kernel) and padding (acts as -inf), in pixels.
  explicit MaxPool2dImpl(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0,
                         bool ceil_mode = false)
      : Pool2dImpl(Kind::Max, kernel_size, stride, padding, ceil_mode, true) {}
  /// From MaxPool2dOptions (LibTorch's form).
  explicit MaxPool2dImpl(const MaxPool2dOptions& o)
      : Pool2dImpl(Kind::Max, o.kernel_size, o.stride, o.padding, o.ceil_mode, true) {}
};

/// Minimum of each window; x [N, C, H, W].
class MinPool2dImpl : public Pool2dImpl {
 public:
  /// Window, step (0: the kernel) and padding (acts as +inf), in pixels.
  explicit MinPool2dImpl(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0,
                         bool ceil_mode = false)
      : Pool2dImpl(Kind::Min, kernel_size, stride, padding, ceil_mode, true) {}
  /// From MinPool2dOptions (LibTorch's form).
  explicit MinPool2dImpl(const MinPool2dOptions& o)
      : Pool2dImpl(Kind::Min, o.kernel_size, o.stride, o.padding, o.ceil_mode, true) {}
};

/// Mean of each window (padding counted unless count_include_pad is false).
class AvgPool2dImpl : public Pool2dImpl {
 public:
  /// Window, step (0: the kernel) and zero padding, in pixels.
  explicit AvgPool2dImpl(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0,
                         bool ceil_mode = false, bool count_include_pad = true)
      : Pool2dImpl(Kind::Avg, kernel_size, stride, padding, ceil_mode, count_include_pad) {}
  /// From AvgPool2dOptions (LibTorch's form).
  explicit AvgPool2dImpl(const AvgPool2dOptions& o)
      : Pool2dImpl(Kind::Avg, o.kernel_size, o.stride, o.padding, o.ceil_mode,
                   o.count_include_pad) {}
};

/// `tg::nn::MaxPool2d pool{2, 2}`: kernel 2, stride 2.
class MaxPool2d : public ModuleHolder<MaxPool2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// `MaxPool2d({2, 1})`: a non-square kernel (a braced pair alone would be ambiguous).
  MaxPool2d(const std::int64_t (&kernel_size)[2])
      : MaxPool2d(Size2(kernel_size[0], kernel_size[1])) {}
  /// `MaxPool2d(2)`. An integer overload: with Size2 alone, `MaxPool2d(0)` was ambiguous (0 is
  /// also a null std::shared_ptr for the empty holder); now kernel 0 throws a clear tg::Error.
  MaxPool2d(std::int64_t kernel_size, Size2 stride = 0, Size2 padding = 0, bool ceil_mode = false)
      : MaxPool2d(Size2(kernel_size), stride, padding, ceil_mode) {}
  /// A new MaxPool2dImpl with these arguments.
  MaxPool2d(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0, bool ceil_mode = false)
      : ModuleHolder(std::make_shared<MaxPool2dImpl>(kernel_size, stride, padding, ceil_mode)) {}
  /// LibTorch's form: `MaxPool2d(MaxPool2dOptions(3).stride(2))`.
  explicit MaxPool2d(const MaxPool2dOptions& options)
      : ModuleHolder(std::make_shared<MaxPool2dImpl>(options)) {}
};

/// Holder of a MinPool2dImpl: `tg::nn::MinPool2d pool{2}`.
class MinPool2d : public ModuleHolder<MinPool2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// `MinPool2d({2, 1})`: a non-square kernel (a braced pair alone would be ambiguous).
  MinPool2d(const std::int64_t (&kernel_size)[2])
      : MinPool2d(Size2(kernel_size[0], kernel_size[1])) {}
  /// `MinPool2d(2)`. An integer overload: with Size2 alone, `MinPool2d(0)` was ambiguous (0 is
  /// also a null std::shared_ptr for the empty holder); now kernel 0 throws a clear tg::Error.
  MinPool2d(std::int64_t kernel_size, Size2 stride = 0, Size2 padding = 0, bool ceil_mode = false)
      : MinPool2d(Size2(kernel_size), stride, padding, ceil_mode) {}
  /// A new MinPool2dImpl with these arguments.
  MinPool2d(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0, bool ceil_mode = false)
      : ModuleHolder(std::make_shared<MinPool2dImpl>(kernel_size, stride, padding, ceil_mode)) {}
  /// LibTorch's form: `MinPool2d(MinPool2dOptions(3).stride(2))`.
  explicit MinPool2d(const MinPool2dOptions& options)
      : ModuleHolder(std::make_shared<MinPool2dImpl>(options)) {}
};

/// Holder of an AvgPool2dImpl: `tg::nn::AvgPool2d pool{2}`.
class AvgPool2d : public ModuleHolder<AvgPool2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// `AvgPool2d({2, 1})`: a non-square kernel (a braced pair alone would be ambiguous).
  AvgPool2d(const std::int64_t (&kernel_size)[2])
      : AvgPool2d(Size2(kernel_size[0], kernel_size[1])) {}
  /// `AvgPool2d(2)` (an integer overload: see MaxPool2d).
  AvgPool2d(std::int64_t kernel_size, Size2 stride = 0, Size2 padding = 0, bool ceil_mode = false,
            bool count_include_pad = true)
      : AvgPool2d(Size2(kernel_size), stride, padding, ceil_mode, count_include_pad) {}
  /// A new AvgPool2dImpl with these arguments.
  AvgPool2d(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0, bool ceil_mode = false,
            bool count_include_pad = true)
      : ModuleHolder(std::make_shared<AvgPool2dImpl>(kernel_size, stride, padding, ceil_mode,
                                                     count_include_pad)) {}
  /// LibTorch's form: `AvgPool2d(AvgPool2dOptions(2).stride(2))`.
  explicit AvgPool2d(const AvgPool2dOptions& options)
      : ModuleHolder(std::make_shared<AvgPool2dImpl>(options)) {}
};

/// Averages [N, C, H, W] down to [N, C, h, w] whatever H and W are ({1, 1}: global pooling).
class AdaptiveAvgPool2dImpl : public Layer {
 public:
  /// Output height and width (each >= 1, else tg::Error).
  explicit AdaptiveAvgPool2dImpl(Size2 output_size);
  /// From AdaptiveAvgPool2dOptions (LibTorch's form).
  explicit AdaptiveAvgPool2dImpl(const AdaptiveAvgPool2dOptions& options)
      : AdaptiveAvgPool2dImpl(Size2(options.output_size)) {}
  Variable forward(const Variable& x) override;
  std::string name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override { return "output_size=" + output_size.str(); }

  Size2 output_size;  ///< (h, w) of the result
};

/// Holder of an AdaptiveAvgPool2dImpl: `tg::nn::AdaptiveAvgPool2d pool(1)` (global pooling).
class AdaptiveAvgPool2d : public ModuleHolder<AdaptiveAvgPool2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// `AdaptiveAvgPool2d(1)` (an integer overload: see MaxPool2d).
  AdaptiveAvgPool2d(std::int64_t output_size) : AdaptiveAvgPool2d(Size2(output_size)) {}
  /// A new AdaptiveAvgPool2dImpl with this output size.
  AdaptiveAvgPool2d(Size2 output_size)
      : ModuleHolder(std::make_shared<AdaptiveAvgPool2dImpl>(output_size)) {}
  /// LibTorch's form: `AdaptiveAvgPool2d(AdaptiveAvgPool2dOptions({1, 1}))`.
  explicit AdaptiveAvgPool2d(const AdaptiveAvgPool2dOptions& options)
      : ModuleHolder(std::make_shared<AdaptiveAvgPool2dImpl>(options)) {}
};

}  // namespace tg::nn
