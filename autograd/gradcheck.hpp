#pragma once
/// @file
/// Compares analytic gradients with central finite differences.
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// How gradcheck perturbs and compares.
struct GradcheckOptions {
  double eps = 1e-3;    ///< finite-difference step (inputs are float32)
  double atol = 1e-3;   ///< |analytic - numeric| <= atol + rtol * |numeric| passes
  double rtol = 1e-2;   ///< relative tolerance, scaled by |numeric|
  std::uint64_t seed = 0;  ///< seed of the random output weights
};

/// gradcheck's verdict and, when it failed, its worst element.
struct GradcheckResult {
  bool ok = true;              ///< every element of every input within tolerance
  double worst_error = 0;      ///< largest |analytic - numeric| - rtol * |numeric|
  std::size_t input = 0;       ///< where it happened: input index and flat element index
  std::size_t element = 0;     ///< flat (row-major) index of the worst element in that input
  ///@{
  /// The worst element's backward gradient and its central-difference estimate.
  double analytic = 0, numeric = 0;
  ///@}
  std::string message;         ///< a one-line report
};

/// Checks d(sum(w * fn(inputs)))/d(inputs) for random weights w against central differences,
/// for every input that requires grad. fn must be deterministic.
GradcheckResult gradcheck(const std::function<Variable(const std::vector<Variable>&)>& fn,
                          const std::vector<Variable>& inputs, GradcheckOptions options = {});

/// Prints "gradcheck passed" or "gradcheck FAILED", with the worst element and its two values.
/// Checks second derivatives (PyTorch's gradgradcheck): the gradients of sum(w * fn(inputs))
/// for fixed random w, computed with autograd::grad and create_graph, are differentiated again
/// and compared with central differences of those gradients. Every op in fn must have a
/// double-backward rule (one without throws tg::Error naming it).
GradcheckResult gradgradcheck(const std::function<Variable(const std::vector<Variable>&)>& fn,
                              const std::vector<Variable>& inputs, GradcheckOptions options = {});
/// Prints result.message's one-line report.
std::ostream& operator<<(std::ostream& out, const GradcheckResult& result);

}  // namespace tg
