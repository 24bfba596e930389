#pragma once
// Variables made from nothing: constants, ranges and random draws (from the default generator).
// Sizes are given as LibTorch takes them (a braced list of any integers, a Shape, a
// std::vector<int64_t> such as x.sizes(), or one integer for a 1-D tensor), and options either
// as tapegrad's `bool requires_grad` or as LibTorch's TensorOptions.
#include <concepts>
#include <initializer_list>

#include "tapegrad/autograd/tensor_options.hpp"
#include "tapegrad/autograd/variable.hpp"

namespace tg {

class Generator;

/// One size of a braced size list: any integer type, so that `{batch.size(0), 100, 1, 1}`
/// mixes int64_t, int and size_t as LibTorch's IntArrayRef does.
class SizeArg {
 public:
  /// The integer `v` as a size (checked non-negative by Sizes).
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  constexpr SizeArg(T v) : value_(static_cast<std::int64_t>(v)) {}
  /// The size as given.
  constexpr std::int64_t value() const { return value_; }

 private:
  std::int64_t value_;
};

/// The sizes of a tensor a factory makes (LibTorch's IntArrayRef). Negative sizes throw
/// tg::Error.
class Sizes {
 public:
  /// tapegrad's Shape, as before.
  Sizes(const Shape& shape) : shape_(shape) {}
  /// A braced list: `{2, 3}`, `{n, c, h, w}`, `{}` for a 0-d tensor.
  Sizes(std::initializer_list<SizeArg> sizes);
  /// LibTorch's size vectors (`x.sizes()`).
  Sizes(const std::vector<std::int64_t>& sizes);
  /// One integer: a 1-D tensor of that length (`tg::zeros(64)`).
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Sizes(T n) : Sizes({SizeArg(n)}) {}
  /// The sizes as a Shape.
  const Shape& shape() const { return shape_; }

 private:
  Shape shape_;
};

/// Zeros of that size.
Variable zeros(const Sizes& sizes, bool requires_grad = false);
/// Zeros of that size, with LibTorch's options (`tg::zeros({2}, tg::requires_grad())`).
Variable zeros(const Sizes& sizes, const TensorOptions& options);
/// Ones of that size.
Variable ones(const Sizes& sizes, bool requires_grad = false);
/// Ones of that size, with LibTorch's options.
Variable ones(const Sizes& sizes, const TensorOptions& options);
/// Every element `value`.
Variable full(const Sizes& sizes, float value, bool requires_grad = false);
/// Every element `value`, with LibTorch's options.
Variable full(const Sizes& sizes, float value, const TensorOptions& options);
/// Standard normal values.
Variable randn(const Sizes& sizes, bool requires_grad = false);
/// Standard normal values, with LibTorch's options.
Variable randn(const Sizes& sizes, const TensorOptions& options);
/// Uniform values in [0, 1).
Variable rand(const Sizes& sizes, bool requires_grad = false);
/// Uniform values in [0, 1), with LibTorch's options.
Variable rand(const Sizes& sizes, const TensorOptions& options);
/// A variable of that size whose values are unspecified (LibTorch's torch::empty; the plain
/// tensor is empty_tensor). Fill it (fill_, uniform_, ...) before reading it.
Variable empty(const Sizes& sizes, bool requires_grad = false);
/// The same with LibTorch's options.
Variable empty(const Sizes& sizes, const TensorOptions& options);
/// Integers drawn uniformly from [0, high), stored as floats (LibTorch's torch::randint; its
/// default dtype is float32 too). Throws tg::Error unless high > 0 and high <= 2^24.
Variable randint(std::int64_t high, const Sizes& sizes, const TensorOptions& options = {});
/// Integers drawn uniformly from [low, high), stored as floats; throws tg::Error unless
/// low < high and both lie within +-2^24 (exact in float32).
Variable randint(std::int64_t low, std::int64_t high, const Sizes& sizes,
                 const TensorOptions& options = {});
/// 0, 1, ..., n-1.
Variable arange(std::int64_t n, bool requires_grad = false);
/// 0, 1, ..., n-1, with LibTorch's options.
Variable arange(std::int64_t n, const TensorOptions& options);

/// Zeros of x's shape (x's requires_grad is not copied, as in LibTorch).
Variable zeros_like(const Variable& x, const TensorOptions& options = {});
/// Ones of x's shape.
Variable ones_like(const Variable& x, const TensorOptions& options = {});
/// `value` everywhere, of x's shape.
Variable full_like(const Variable& x, float value, const TensorOptions& options = {});
/// Uniform values in [0, 1), of x's shape.
Variable rand_like(const Variable& x, const TensorOptions& options = {});
/// Standard normal values, of x's shape.
Variable randn_like(const Variable& x, const TensorOptions& options = {});
/// Unspecified values, of x's shape.
Variable empty_like(const Variable& x, const TensorOptions& options = {});

/// A 1-D variable holding `values` (LibTorch's torch::tensor({1.f, 2.f})).
Variable tensor(std::initializer_list<float> values, const TensorOptions& options = {});
/// A 2-D variable from rows of equal length (`tg::tensor({{1, 2}, {3, 4}})`); throws
/// tg::Error for ragged rows.
Variable tensor(std::initializer_list<std::initializer_list<float>> rows,
                const TensorOptions& options = {});
/// A 1-D variable holding `values`.
Variable tensor(const std::vector<float>& values, const TensorOptions& options = {});
/// A 0-d variable holding `value` (LibTorch's torch::tensor(3.5)).
Variable tensor(float value, const TensorOptions& options = {});

/// Plain tensors drawn from a given generator (for init, augmentation, tests).
Tensor randn_tensor(const Shape& shape, Generator& gen);
/// Uniform values in [lo, hi) drawn from `gen`.
Tensor rand_tensor(const Shape& shape, Generator& gen, float lo = 0.0f, float hi = 1.0f);

}  // namespace tg
