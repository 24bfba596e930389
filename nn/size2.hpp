#pragma once
/// @file
/// A (height, width) pair given as one number or two, like PyTorch's _pair arguments.
#include <cstdint>
#include <string>

namespace tg::nn {

/// `3` means (3, 3), `{3, 5}` means (3, 5); remembers which form was given so that a layer
/// prints its arguments as PyTorch does (MaxPool2d(kernel_size=2) vs kernel_size=(2, 2)).
struct Size2 {
  ///@{
  /// Height and width.
  std::int64_t h = 0, w = 0;
  ///@}
  bool scalar = true;  ///< given as one number
  /// (both, both), printed as one number.
  Size2(std::int64_t both) : h(both), w(both) {}
  /// (height, width), printed as a pair.
  Size2(std::int64_t height, std::int64_t width) : h(height), w(width), scalar(false) {}
  /// "(3, 5)" always.
  std::string tuple_str() const {
    std::string s(1, '(');
    return s.append(std::to_string(h)).append(", ").append(std::to_string(w)).append(")");
  }
  /// "3" when given as one number, else "(3, 5)".
  std::string str() const { return scalar ? std::to_string(h) : tuple_str(); }
  /// Equal sizes, however given.
  bool operator==(const Size2& o) const { return h == o.h && w == o.w; }
};

}  // namespace tg::nn
