#pragma once
// PyTorch-derived reference data for the LibTorch-style tensor methods (made by
// make_methods_golden.py, see there how): arrays as golden.hpp's, grad_fn names, and the text
// LibTorch's C++ operator<< prints.
#include <cmath>
#include <string>

#include "autograd/golden/golden.hpp"

namespace tg::golden {

/// A LibTorch call (as written in the generator) and its grad_fn's name.
struct GradFnName {
  const char* call;
  const char* name;
};

/// A printed tensor's name ("print.NAME" is its array) and LibTorch's text.
struct PrintedText {
  const char* name;
  const char* text;
};

namespace methods_data {
#include "autograd/golden/methods_golden.inc"
}  // namespace methods_data

/// The methods array called `name` as a tensor (fails the test if there is none).
inline Tensor methods_tensor(const std::string& name) {
  for (const Entry& e : methods_data::entries)
    if (name == e.name) {
      Tensor t = empty_tensor(Shape(e.shape.begin(), e.shape.begin() + e.dims));
      REQUIRE(t.size() == e.count);
      std::copy(e.values, e.values + e.count, t.data());
      return t;
    }
  FAIL("no golden array called ", name);
  return Tensor();
}

/// grad_fn()->name() LibTorch gives for `call`.
inline std::string grad_fn_name(const std::string& call) {
  for (const GradFnName& g : methods_data::grad_fn_names)
    if (call == g.call) return g.name;
  FAIL("no golden grad_fn for ", call);
  return "";
}

/// LibTorch's printed text of the array "print.NAME".
inline std::string printed_text(const std::string& name) {
  for (const PrintedText& p : methods_data::printed)
    if (name == p.name) return p.text;
  FAIL("no golden printed text for ", name);
  return "";
}

}  // namespace tg::golden
