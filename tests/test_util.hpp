#pragma once
// Helpers shared by the test suites: tensors from literals, closeness checks, temp folders.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/autograd/autograd.hpp>

namespace tg::test {

/// A tensor of `shape` holding `values` in row-major order.
inline Tensor make(const Shape& shape, std::initializer_list<float> values) {
  Tensor t = empty_tensor(shape);
  if (values.size() != t.size()) throw std::logic_error("test::make: value count != shape size");
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

/// A 1-D tensor holding `values`.
inline Tensor vec(const std::vector<float>& values) {
  Tensor t = empty_tensor(Shape{values.size()});
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

/// A tensor of `shape` with values uniform in [lo, hi) from a generator seeded with `seed`.
inline Tensor uniform(const Shape& shape, float lo, float hi, std::uint64_t seed) {
  Generator gen(seed);
  return rand_tensor(shape, gen, lo, hi);
}

/// Values uniform in [lo, hi) with random signs: away from 0, where |x|, ReLU... have kinks.
inline Tensor away_from_zero(const Shape& shape, float lo, float hi, std::uint64_t seed) {
  Generator gen(seed);
  Tensor t = rand_tensor(shape, gen, lo, hi);
  for (float& v : t) v = gen.bernoulli(0.5f) ? v : -v;
  return t;
}

/// Checks shapes equal and every element within atol + rtol * |expected|.
inline void check_close(const Tensor& actual, const Tensor& expected, double atol = 1e-5,
                        double rtol = 1e-5) {
  REQUIRE_MESSAGE(actual.shape() == expected.shape(), "shape ", shape_str(actual.shape()),
                  " != ", shape_str(expected.shape()));
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = actual.data()[i], e = expected.data()[i];
    CHECK_MESSAGE(std::fabs(a - e) <= atol + rtol * std::fabs(e), "element ", i, ": ", a,
                  " != ", e);
  }
}

/// A fresh empty folder for a test's files.
inline std::filesystem::path temp_dir(const std::string& name) {
  const char* root = std::getenv("TAPEGRAD_TEST_TMP");
  auto dir = (root ? std::filesystem::path(root) : std::filesystem::temp_directory_path()) /
             ("tapegrad_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace tg::test
