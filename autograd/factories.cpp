#include "tapegrad/autograd/factories.hpp"

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/random.hpp"

namespace tg {

Variable zeros(const Shape& shape, bool requires_grad) { return full(shape, 0.0f, requires_grad); }
Variable ones(const Shape& shape, bool requires_grad) { return full(shape, 1.0f, requires_grad); }
Variable full(const Shape& shape, float value, bool requires_grad) {
  return Variable(filled(shape, value), requires_grad);
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

Variable randn(const Shape& shape, bool requires_grad) {
  return Variable(randn_tensor(shape, default_generator()), requires_grad);
}
Variable rand(const Shape& shape, bool requires_grad) {
  return Variable(rand_tensor(shape, default_generator()), requires_grad);
}

Variable arange(std::int64_t n, bool requires_grad) {
  TG_CHECK(n >= 0, "arange: expected n >= 0, got ", n);
  Tensor t = empty_tensor(Shape{std::size_t(n)});
  for (std::int64_t i = 0; i < n; ++i) t.data()[i] = float(i);
  return Variable(std::move(t), requires_grad);
}

}  // namespace tg
