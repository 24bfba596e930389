#pragma once
/// @file
/// tg::autograd::grad: gradients returned instead of accumulated, and gradients of gradients.
#include <optional>
#include <vector>

#include "tapegrad/autograd/variable.hpp"

namespace tg::autograd {

/// The gradients of `outputs` with respect to `inputs` (LibTorch's torch::autograd::grad, same
/// arguments in the same order), returned; no `.grad()` is touched.
///
/// - `grad_outputs`: dLoss/dOutput_i, one per output (empty: ones, for one-element outputs).
/// - `retain_graph`: keep the graph for another backward; defaults to `create_graph`.
/// - `create_graph`: record the gradients on the tape, so that they can be differentiated
///   again (to any order): gradient penalties, Hessian-vector products. Every op on the way
///   must have a double-backward rule; one without it throws tg::Error naming the op.
/// - `allow_unused`: an input the outputs do not depend on gives an undefined Variable instead
///   of a tg::Error naming it.
///
/// Throws tg::Error for an output or input that does not require grad, grad_outputs of the
/// wrong count or shape, or a missing grad_output for an output of more than one element.
/// Without create_graph it runs the same first-order rules (the same kernels) as backward().
std::vector<Variable> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                           const std::vector<Variable>& grad_outputs = {},
                           std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                           bool allow_unused = false);

}  // namespace tg::autograd
