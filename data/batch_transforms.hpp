#pragma once
/// @file
/// Augmentation of a whole batch with torchvision.transforms.v2's semantics: MixUp and CutMix
/// blend each image with its neighbour in the batch (the batch rolled by one) and return soft
/// labels [N, num_classes], for tg::cross_entropy's probability targets. Like v2, they expect
/// integer class labels and draw lambda from Beta(alpha, alpha).
#include <cstdint>
#include <functional>
#include <vector>

#include "tapegrad/autograd/random.hpp"
#include "tapegrad/data/dataloader.hpp"

namespace tg::data {

/// A batch whose labels are class probabilities [N, num_classes].
struct SoftBatch {
  Variable images;   ///< [N, C, H, W]
  Variable targets;  ///< [N, num_classes], each row summing to 1
};

/// An augmentation of a batch: SoftBatch(const Batch&, Generator&).
using BatchTransform = std::function<SoftBatch(const Batch& batch, Generator& gen)>;

namespace transforms {

/// One draw from Beta(a, b) (a, b > 0), by two Gamma draws (Marsaglia and Tsang).
float sample_beta(float a, float b, Generator& gen);

/// images = lam * images + (1 - lam) * images rolled by one along the batch, the one-hot labels
/// likewise; lam ~ Beta(alpha, alpha).
struct MixUp {
  /// num_classes >= 1 and alpha > 0, else tg::Error.
  explicit MixUp(std::int64_t num_classes, float alpha = 1.0f);
  /// The mixed batch; images not [N, C, H, W] or labels outside [0, num_classes) throw tg::Error.
  SoftBatch operator()(const Batch& batch, Generator& gen) const;
  /// The same with a given lam (what operator() does after drawing it).
  SoftBatch apply(const Batch& batch, float lam) const;
  std::int64_t num_classes;  ///< labels are in [0, num_classes)
  float alpha;               ///< lam ~ Beta(alpha, alpha)
};

/// A box [y1, y2) x [x1, x2) of each image replaced by the same box of its neighbour (the batch
/// rolled by one); the labels mixed by the area kept. The box is centred at a uniformly random
/// pixel, its sides sqrt(1 - lam) of the image's, clipped at the borders.
struct CutMix {
  /// num_classes >= 1 and alpha > 0, else tg::Error.
  explicit CutMix(std::int64_t num_classes, float alpha = 1.0f);
  /// The mixed batch; images not [N, C, H, W] or labels outside [0, num_classes) throw tg::Error.
  SoftBatch operator()(const Batch& batch, Generator& gen) const;
  /// Columns [x1, x2) and rows [y1, y2) of the image, in pixels.
  struct Box {
    ///@{
    /// Corners, 0 <= x1 <= x2 <= W and 0 <= y1 <= y2 <= H (else tg::Error in apply).
    std::int64_t x1, y1, x2, y2;
    ///@}
  };
  /// The same with a given box; the label weight is 1 - box area / image area.
  SoftBatch apply(const Batch& batch, Box box) const;
  std::int64_t num_classes;  ///< labels are in [0, num_classes)
  float alpha;               ///< lam ~ Beta(alpha, alpha) sets the box's area
};

/// One of the transforms, chosen uniformly at random for each batch (v2.RandomChoice).
struct RandomChoice {
  /// At least one transform, else tg::Error.
  explicit RandomChoice(std::vector<BatchTransform> choices);
  /// One of the choices applied to `batch`.
  SoftBatch operator()(const Batch& batch, Generator& gen) const;
  std::vector<BatchTransform> choices;  ///< drawn with equal probability
};

/// One-hot labels [N, num_classes] as probabilities (what the batch transforms mix).
Tensor one_hot(const Labels& labels, std::int64_t num_classes);

}  // namespace transforms
}  // namespace tg::data
