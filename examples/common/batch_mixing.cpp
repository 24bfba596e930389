#include "examples/common/batch_mixing.hpp"

#include <tapegrad/autograd/error.hpp>

namespace tg::examples {

std::optional<data::BatchTransform> batch_mixing(double mixup_alpha, double cutmix_alpha, int classes) {
  namespace T = data::transforms;
  TG_CHECK(mixup_alpha >= 0, "--mixup: expected alpha >= 0 (0: off), got ", mixup_alpha);
  TG_CHECK(cutmix_alpha >= 0, "--cutmix: expected alpha >= 0 (0: off), got ", cutmix_alpha);
  std::vector<data::BatchTransform> chosen;
  if (mixup_alpha > 0) chosen.push_back(T::MixUp(classes, float(mixup_alpha)));
  if (cutmix_alpha > 0) chosen.push_back(T::CutMix(classes, float(cutmix_alpha)));
  if (chosen.empty()) return std::nullopt;
  if (chosen.size() == 1) return chosen[0];
  return T::RandomChoice(std::move(chosen));
}

}  // namespace tg::examples
