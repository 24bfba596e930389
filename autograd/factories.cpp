#include "tapegrad/autograd/factories.hpp"

#include <cmath>
#include <ostream>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/random.hpp"

namespace tg {

const char* scalar_type_name(ScalarType type) {
  switch (type) {
    case ScalarType::Float: return "Float";
    case ScalarType::Double: return "Double";
    case ScalarType::Half: return "Half";
    case ScalarType::BFloat16: return "BFloat16";
    case ScalarType::Long: return "Long";
    case ScalarType::Int: return "Int";
    case ScalarType::Short: return "Short";
    case ScalarType::Char: return "Char";
    case ScalarType::Byte: return "Byte";
    case ScalarType::Bool: return "Bool";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, ScalarType type) { return out << scalar_type_name(type); }

void check_float_dtype(ScalarType type, const char* what) {
  TG_CHECK(type == ScalarType::Float, what, ": expected dtype Float (tg::kFloat32), got ",
           scalar_type_name(type), ": tapegrad's tensors hold float32 only (class labels are "
           "tg::Labels, comparisons return 0/1 float tensors)");
}

void check_options(const TensorOptions& options, const char* what) {
  check_float_dtype(options.dtype(), what);
  check_cpu_device(options.device(), what);
}

Sizes::Sizes(std::initializer_list<SizeArg> sizes) {
  shape_.resize(sizes.size());
  std::size_t i = 0;
  for (const SizeArg& s : sizes) {
    TG_CHECK(s.value() >= 0, "sizes: expected non-negative sizes, got ", s.value(), " at dim ", i);
    shape_[i++] = static_cast<std::size_t>(s.value());
  }
}

Sizes::Sizes(const std::vector<std::int64_t>& sizes) {
  shape_.resize(sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    TG_CHECK(sizes[i] >= 0, "sizes: expected non-negative sizes, got ", shape_str(sizes));
    shape_[i] = static_cast<std::size_t>(sizes[i]);
  }
}

namespace {
// A leaf made by a factory that took LibTorch's options.
Variable made(Tensor value, const TensorOptions& options, const char* what) {
  check_options(options, what);
  return Variable(std::move(value), options.requires_grad());
}
}  // namespace

Variable zeros(const Sizes& sizes, bool requires_grad) { return full(sizes, 0.0f, requires_grad); }
Variable zeros(const Sizes& sizes, const TensorOptions& options) {
  return made(filled(sizes.shape(), 0.0f), options, "zeros");
}
Variable ones(const Sizes& sizes, bool requires_grad) { return full(sizes, 1.0f, requires_grad); }
Variable ones(const Sizes& sizes, const TensorOptions& options) {
  return made(filled(sizes.shape(), 1.0f), options, "ones");
}
Variable full(const Sizes& sizes, float value, bool requires_grad) {
  return Variable(filled(sizes.shape(), value), requires_grad);
}
Variable full(const Sizes& sizes, float value, const TensorOptions& options) {
  return made(filled(sizes.shape(), value), options, "full");
}

Tensor randn_tensor(const Shape& shape, Generator& gen) {
  Tensor t = empty_tensor(shape);
  for (float& v : t) v = gen.normal();
  return t;
}

Tensor rand_tensor(const Shape& shape, Generator& gen, float lo, float hi) {
  Tensor t = empty_tensor(shape);
  for (float& v : t) v = gen.uniform(lo, hi);
  return t;
}

Variable randn(const Sizes& sizes, bool requires_grad) {
  return Variable(randn_tensor(sizes.shape(), default_generator()), requires_grad);
}
Variable randn(const Sizes& sizes, const TensorOptions& options) {
  check_options(options, "randn");  // before drawing: a rejected call leaves the stream alone
  return made(randn_tensor(sizes.shape(), default_generator()), options, "randn");
}
Variable rand(const Sizes& sizes, bool requires_grad) {
  return Variable(rand_tensor(sizes.shape(), default_generator()), requires_grad);
}
Variable rand(const Sizes& sizes, const TensorOptions& options) {
  check_options(options, "rand");
  return made(rand_tensor(sizes.shape(), default_generator()), options, "rand");
}
Variable empty(const Sizes& sizes, bool requires_grad) {
  return Variable(empty_tensor(sizes.shape()), requires_grad);
}
Variable empty(const Sizes& sizes, const TensorOptions& options) {
  return made(empty_tensor(sizes.shape()), options, "empty");
}

Variable randint(std::int64_t high, const Sizes& sizes, const TensorOptions& options) {
  return randint(0, high, sizes, options);
}

Variable randint(std::int64_t low, std::int64_t high, const Sizes& sizes,
                 const TensorOptions& options) {
  constexpr std::int64_t exact = std::int64_t{1} << 24;  // integers float32 holds exactly
  TG_CHECK(low < high, "randint: expected low < high, got low = ", low, ", high = ", high);
  TG_CHECK(low >= -exact && high <= exact, "randint: expected bounds within +-2^24 (float32 ",
           "holds integers exactly only there), got [", low, ", ", high, ")");
  check_options(options, "randint");
  Generator& gen = default_generator();
  Tensor t = empty_tensor(sizes.shape());
  const auto range = static_cast<std::uint64_t>(high - low);
  for (float& v : t) v = static_cast<float>(low + static_cast<std::int64_t>(gen.below(range)));
  return Variable(std::move(t), options.requires_grad());
}

Variable arange(std::int64_t n, bool requires_grad) {
  TG_CHECK(n >= 0, "arange: expected n >= 0, got ", n);
  Tensor t = empty_tensor(Shape{std::size_t(n)});
  for (std::int64_t i = 0; i < n; ++i) t.data()[i] = float(i);
  return Variable(std::move(t), requires_grad);
}
Variable arange(std::int64_t n, const TensorOptions& options) {
  check_options(options, "arange");
  return arange(n, options.requires_grad());
}

namespace {
const Shape& like_shape(const Variable& x, const char* what) {
  TG_CHECK(x.defined(), what, ": expected a defined variable, got an undefined one");
  return x.shape();
}
}  // namespace

Variable zeros_like(const Variable& x, const TensorOptions& options) {
  return zeros(like_shape(x, "zeros_like"), options);
}
Variable ones_like(const Variable& x, const TensorOptions& options) {
  return ones(like_shape(x, "ones_like"), options);
}
Variable full_like(const Variable& x, float value, const TensorOptions& options) {
  return full(like_shape(x, "full_like"), value, options);
}
Variable rand_like(const Variable& x, const TensorOptions& options) {
  return rand(like_shape(x, "rand_like"), options);
}
Variable randn_like(const Variable& x, const TensorOptions& options) {
  return randn(like_shape(x, "randn_like"), options);
}
Variable empty_like(const Variable& x, const TensorOptions& options) {
  return empty(like_shape(x, "empty_like"), options);
}

Variable tensor(std::initializer_list<float> values, const TensorOptions& options) {
  Tensor t = empty_tensor(Shape{values.size()});
  std::copy(values.begin(), values.end(), t.data());
  return made(std::move(t), options, "tensor");
}

Variable tensor(std::initializer_list<std::initializer_list<float>> rows,
                const TensorOptions& options) {
  const std::size_t cols = rows.size() == 0 ? 0 : rows.begin()->size();
  Tensor t = empty_tensor(Shape{rows.size(), cols});
  float* out = t.data();
  std::size_t r = 0;
  for (const auto& row : rows) {
    TG_CHECK(row.size() == cols, "tensor: expected rows of equal length, got row 0 of ", cols,
             " and row ", r, " of ", row.size());
    out = std::copy(row.begin(), row.end(), out);
    ++r;
  }
  return made(std::move(t), options, "tensor");
}

Variable tensor(const std::vector<float>& values, const TensorOptions& options) {
  Tensor t = empty_tensor(Shape{values.size()});
  std::copy(values.begin(), values.end(), t.data());
  return made(std::move(t), options, "tensor");
}

Variable tensor(float value, const TensorOptions& options) {
  return made(filled(Shape{}, value), options, "tensor");
}

}  // namespace tg
