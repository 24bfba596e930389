#pragma once
/// @file
/// MaxPool2d, MinPool2d, AvgPool2d, AdaptiveAvgPool2d (torch.nn's pooling layers; MinPool2d is
/// the seed material's min-pooling, printed like MaxPool2d).
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/size2.hpp"

namespace tg::nn {

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
};

/// Minimum of each window; x [N, C, H, W].
class MinPool2dImpl : public Pool2dImpl {
 public:
  /// Window, step (0: the kernel) and padding (acts as +inf), in pixels.
  explicit MinPool2dImpl(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0,
                         bool ceil_mode = false)
      : Pool2dImpl(Kind::Min, kernel_size, stride, padding, ceil_mode, true) {}
};

/// Mean of each window (padding counted unless count_include_pad is false).
class AvgPool2dImpl : public Pool2dImpl {
 public:
  /// Window, step (0: the kernel) and zero padding, in pixels.
  explicit AvgPool2dImpl(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0,
                         bool ceil_mode = false, bool count_include_pad = true)
      : Pool2dImpl(Kind::Avg, kernel_size, stride, padding, ceil_mode, count_include_pad) {}
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
};

/// Averages [N, C, H, W] down to [N, C, h, w] whatever H and W are ({1, 1}: global pooling).
class AdaptiveAvgPool2dImpl : public Layer {
 public:
  /// Output height and width (each >= 1, else tg::Error).
  explicit AdaptiveAvgPool2dImpl(Size2 output_size);
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
};

}  // namespace tg::nn
