#pragma once
// PyTorch's numbers for the optim tests: the structs, then the data make_golden.py generated
// (see that script for how; the tests never run torch).
#include <array>
#include <cmath>
#include <limits>
#include <vector>

namespace tg::test::golden {

/// One optimizer run: options (PyTorch's resolved defaults), the parameters p0 [3, 4] and p1 [5]
/// flattened into 17 values, 6 steps of gradients (NaN: p1 has no gradient) and the values after.
struct OptimGolden {
  const char* name;
  const char* optimizer;  // "SGD", "Adam", "AdamW", "RMSprop"
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  double beta1, beta2, eps;
  bool amsgrad;
  double alpha;
  bool centered, maximize;
  bool use_defaults;   // build with {} options: checks tapegrad's defaults are PyTorch's
  double group0_lr;    // not NaN: p0 in a group of its own with this lr
  int missing_grad_step;
  double onecycle_max_lr;  // not NaN: OneCycleLR(max_lr, total_steps = 6) steps after each step
  std::vector<float> init;
  std::vector<std::vector<float>> grads, params;
};

/// One scheduler run over two groups (lr 0.1 and 0.05): lr and momentum (or beta1) of each
/// group after construction and after each step.
struct SchedulerGolden {
  const char* name;
  const char* optimizer;  // "SGD" (momentum 0.9) or "Adam"
  std::vector<double> metrics;  // ReduceLROnPlateau's step(metric) arguments
  std::vector<std::array<double, 2>> lrs, momenta;
};

/// One clip_grad_norm_ call on gradients of p0 [3, 4] and p1 [5].
struct ClipGolden {
  double max_norm, norm_type, total_norm;
  std::vector<float> grads, clipped;
};

// The data (optim_golden.inc) is compiled once, in optim_golden.cpp: as inline variables in this
// header, their initialisers were compiled into each of the nine optim test files (about 10 s
// each under ASan).
extern const std::vector<OptimGolden> kOptimGolden;
extern const std::vector<SchedulerGolden> kSchedulerGolden;
extern const std::vector<ClipGolden> kClipGolden;

}  // namespace tg::test::golden
