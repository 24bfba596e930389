#pragma once
// PyTorch's numbers for AveragedModel and update_bn (make_swa_golden.py says how they were made;
// the tests never run torch).
#include <limits>
#include <vector>

namespace tg::test::golden {

struct NamedValues {
  const char* name;
  std::vector<float> values;
};

/// One AveragedModel run: the model's state at construction and at each of four update_parameters calls, then the
/// averaged state_dict and eval output for kSwaInput, before and after update_bn(kSwaBatches).
struct SwaGolden {
  const char* name;
  double ema_decay;  // NaN: the SWA running mean
  bool use_buffers;
  std::vector<NamedValues> initial;  // the model the average is built from
  std::vector<std::vector<NamedValues>> updates;
  std::vector<NamedValues> averaged;
  std::vector<float> output;
  std::vector<NamedValues> averaged_after_update_bn;
  std::vector<float> output_after_update_bn;
};

#include "swa_golden.inc"

}  // namespace tg::test::golden
