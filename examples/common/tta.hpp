#pragma once
// The trainer's --tta and --tta-shift: test-time augmentation. The prediction is the mean
// of the logits of several views of each test image: the image, its mirror image, and copies
// shifted by a pixel or two, the views the training augmentation (padded crops and flips) showed
// the network. Averaging them smooths out the errors one view makes by chance.
#include <functional>
#include <vector>

#include <tapegrad/autograd/variable.hpp>

namespace tg::examples {

/// Images [N, C, H, W] mirrored left-right.
Tensor hflip_batch(const Tensor& images);

/// Images [N, C, H, W] moved right by dx and down by dy pixels (negative: left, up); the pixels
/// uncovered at the border take channel c's `fill[c]`, as a padded crop's border does.
Tensor shift_batch(const Tensor& images, int dx, int dy, const std::vector<float>& fill);

/// The views a test-time augmentation averages over.
struct TtaViews {
  bool flip = false;        ///< each view also mirrored
  int shift = 0;            ///< every shift of up to this many pixels each way: (2 shift + 1)^2
  std::vector<float> fill;  ///< per channel, where a shift uncovers the border (0 pixels, normalised)
};

/// How many forward passes one batch costs: (2 shift + 1)^2, twice with the flip.
int view_count(const TtaViews& views);

/// x -> the mean of forward(view) over the views of x, for evaluation (no tape is recorded).
/// Throws tg::Error for a negative shift or a fill that does not match x's channels.
std::function<Variable(const Variable&)> with_tta(std::function<Variable(const Variable&)> forward, TtaViews views);

}  // namespace tg::examples
