#pragma once
// Evaluation under mpirun: each rank evaluates its own share of the test images.
#include "examples/common/training.hpp"

namespace tg::examples {

/// Sums the ranks' confusion matrices and losses so that every test image counts once; the
/// loss and accuracy become those of the whole test set (nothing changes with one process).
void reduce_over_ranks(Evaluation& e);

}  // namespace tg::examples
