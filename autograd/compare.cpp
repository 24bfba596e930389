#include "tapegrad/autograd/compare.hpp"

#include <functional>

#include "tapegrad/autograd/elementwise.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/kernels/map.hpp"

namespace tg {

namespace {

template <class Relation>
Variable compare(const Variable& a, const CompareOperand& b, const char* op, Relation rel) {
  TG_CHECK(a.defined(), op, ": expected a defined variable, got an undefined one");
  auto as_float = [rel](float x, float y) { return rel(x, y) ? 1.0f : 0.0f; };
  if (const Tensor* t = b.tensor()) {
    const Shape shape = broadcast_shapes(a.shape(), t->shape(), op);
    return Variable(kernels::broadcast_zip(a.value(), *t, shape, as_float));
  }
  if (const Labels* labels = b.labels()) {
    Tensor l = empty_tensor(Shape(labels->shape().begin(), labels->shape().end()));
    for (std::size_t i = 0; i < labels->size(); ++i) l.data()[i] = static_cast<float>(labels->data()[i]);
    const Shape shape = broadcast_shapes(a.shape(), l.shape(), op);
    return Variable(kernels::broadcast_zip(a.value(), l, shape, as_float));
  }
  const auto s = static_cast<float>(b.scalar());
  return Variable(kernels::map(a.value(), [s, as_float](float x) { return as_float(x, s); }));
}

}  // namespace

Variable eq(const Variable& a, const CompareOperand& b) { return compare(a, b, "eq", std::equal_to<float>()); }
Variable ne(const Variable& a, const CompareOperand& b) { return compare(a, b, "ne", std::not_equal_to<float>()); }
Variable lt(const Variable& a, const CompareOperand& b) { return compare(a, b, "lt", std::less<float>()); }
Variable le(const Variable& a, const CompareOperand& b) { return compare(a, b, "le", std::less_equal<float>()); }
Variable gt(const Variable& a, const CompareOperand& b) { return compare(a, b, "gt", std::greater<float>()); }
Variable ge(const Variable& a, const CompareOperand& b) { return compare(a, b, "ge", std::greater_equal<float>()); }

}  // namespace tg
