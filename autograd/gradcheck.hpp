#pragma once
// Compares analytic gradients with central finite differences.
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "tapegrad/autograd/variable.hpp"

namespace tg {

struct GradcheckOptions {
  double eps = 1e-3;    ///< finite-difference step (inputs are float32)
  double atol = 1e-3;   ///< |analytic - numeric| <= atol + rtol * |numeric| passes
  double rtol = 1e-2;
  std::uint64_t seed = 0;  ///< seed of the random output weights
};

struct GradcheckResult {
  bool ok = true;
  double worst_error = 0;      ///< largest |analytic - numeric| - rtol * |numeric|
  std::size_t input = 0;       ///< where it happened: input index and flat element index
  std::size_t element = 0;
  double analytic = 0, numeric = 0;
  std::string message;         ///< a one-line report
};

/// Checks d(sum(w * fn(inputs)))/d(inputs) for random weights w against central differences,
/// for every input that requires grad. fn must be deterministic.
GradcheckResult gradcheck(const std::function<Variable(const std::vector<Variable>&)>& fn,
                          const std::vector<Variable>& inputs, GradcheckOptions options = {});

std::ostream& operator<<(std::ostream& out, const GradcheckResult& result);

}  // namespace tg
