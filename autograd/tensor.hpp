#pragma once
/// @file
/// The array types of tapegrad: float tensors (row-major, NCHW for images) and integer labels.
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>
#include <xtensor/xarray.hpp>

namespace tg {

/// A dense float32 array, row-major (images are [N, C, H, W]).
using Tensor = xt::xarray<float>;
/// Class labels, one per sample.
using Labels = xt::xarray<std::int64_t>;
/// A tensor's shape.
using Shape = Tensor::shape_type;

/// "[64, 3, 32, 32]": how every message prints a shape.
std::string shape_str(const Shape& shape);
/// The same for a shape held in any integer vector.
std::string shape_str(const std::vector<std::int64_t>& shape);
/// Number of elements of a tensor of that shape (1 for a 0-d shape).
std::size_t numel_of(const Shape& shape);
/// A tensor of that shape whose values are not initialised (fill it before reading it).
Tensor empty_tensor(const Shape& shape);

/// Largest element count of a float tensor: its size in bytes and xtensor's signed strides
/// must fit in std::ptrdiff_t (2^61 - 1 elements on a 64-bit machine).
inline constexpr std::size_t kMaxNumel = static_cast<std::size_t>(PTRDIFF_MAX) / sizeof(float);

/// Element count of `shape` for a shape built from a user's or a file's numbers (a layer's
/// sizes, an ONNX initializer's dims). Throws tg::Error "<what>: expected ..." when the product
/// of its non-zero dimensions exceeds kMaxNumel (where an unchecked product wraps around to a
/// small or zero count); a 0 dimension gives 0.
std::size_t checked_numel(const Shape& shape, const std::string& what);
/// The Shape of signed sizes `dims` (each >= 0, else tg::Error naming `what`), checked as
/// checked_numel does.
Shape checked_shape(const std::vector<std::int64_t>& dims, const std::string& what);
/// empty_tensor(shape) after checked_numel, with a failed allocation a tg::Error naming `what` and the
/// bytes asked for instead of std::bad_alloc. Used wherever a user's numbers size a tensor.
Tensor checked_empty(const Shape& shape, const std::string& what);
/// A tensor of that shape with every element `value`.
Tensor filled(const Shape& shape, float value);

}  // namespace tg

namespace xt {
/// Prints a tg::Tensor as LibTorch prints a float tensor: the values (one line per element for
/// 1-D, a matrix for 2-D, "(i,j,.,.) = " slices above), then "[ CPUFloatType{2,3} ]"
/// (autograd/print.cpp). Declared in xtensor's namespace, the tensor type's own, so that
/// `std::cout << t` finds it from any namespace; it is preferred to xtensor's generic printer.
std::ostream& operator<<(std::ostream& out, const tg::Tensor& tensor);
}  // namespace xt
