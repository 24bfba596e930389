#pragma once
/// @file
/// Pooling over windows of NCHW tensors.
#include <array>

#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// A pooling window with separate height and width (the functions with one `kernel` are square).
struct Pool2dOptions {
  ///@{
  /// Window height and width, in pixels.
  std::int64_t kernel_h = 2, kernel_w = 2;
  ///@}
  ///@{
  /// Window step in pixels; 0: the kernel size (PyTorch's default).
  std::int64_t stride_h = 0, stride_w = 0;
  ///@}
  ///@{
  /// Implicit padding on each side (at most half the kernel, as PyTorch requires).
  std::int64_t padding_h = 0, padding_w = 0;
  ///@}
  bool ceil_mode = false;  ///< round the output size up (a last window may start in padding)
  bool count_include_pad = true;  ///< avg_pool2d only
};

/// torch max_pool2d: padding acts as -inf; the gradient goes to the first maximum of each
/// window (row-major), overlapping windows add up. stride 0 means stride = kernel.
Variable max_pool2d(const Variable& x, std::int64_t kernel, std::int64_t stride = 0,
                    std::int64_t padding = 0, bool ceil_mode = false);
/// max_pool2d with a rectangular window.
Variable max_pool2d(const Variable& x, const Pool2dOptions& options);
/// The same with the minimum (the seed material's min-pooling); padding acts as +inf.
Variable min_pool2d(const Variable& x, std::int64_t kernel, std::int64_t stride = 0,
                    std::int64_t padding = 0, bool ceil_mode = false);
/// min_pool2d with a rectangular window.
Variable min_pool2d(const Variable& x, const Pool2dOptions& options);
/// torch avg_pool2d with ceil_mode and count_include_pad.
Variable avg_pool2d(const Variable& x, std::int64_t kernel, std::int64_t stride = 0,
                    std::int64_t padding = 0, bool ceil_mode = false,
                    bool count_include_pad = true);
/// avg_pool2d with a rectangular window.
Variable avg_pool2d(const Variable& x, const Pool2dOptions& options);
/// torch adaptive_avg_pool2d: output {h, w}, window i spans [floor(i*H/h), ceil((i+1)*H/h)).
Variable adaptive_avg_pool2d(const Variable& x, std::array<std::int64_t, 2> output_size);

}  // namespace tg
