#pragma once
// The network of the auxiliary_losses example: a plain CNN (3x3 conv + ReLU, no normalisation,
// PyTorch's default initialisation, as networks were before BatchNorm) deep enough that the
// main loss's gradient reaching its first layers is weak, with two auxiliary classifiers in the
// manner of GoogLeNet's InceptionAux, scaled down for 28x28 input:
//
//   stem  conv 3x3 C->16 @28x28, max-pool 2          (layer 1)
//   stage1  n convs 16->16 @14x14                    -> aux1
//   max-pool 2, stage2  n convs 16->32 @7x7          -> aux2
//   max-pool 2, stage3  n convs 32->64 @3x3, global average pool, fc 64->classes
//
// Each head: adaptive average pool to 4x4, 1x1 conv to 32 channels + ReLU, fc 512->128 + ReLU,
// dropout 0.7, fc 128->classes (InceptionAux: 4x4, 128 channels, fc 2048->1024, dropout 0.7).
#include <cstdint>
#include <vector>

#include <tapegrad/nn/nn.hpp>

namespace tg::examples {

/// An auxiliary classifier on an intermediate feature map [N, C, H, W] -> logits [N, classes].
class AuxHeadImpl : public nn::Layer {
 public:
  AuxHeadImpl(std::int64_t in_channels, std::int64_t classes, double dropout = 0.7);
  Variable forward(const Variable& x) override;
  std::string name() const override { return "AuxHead"; }

  nn::Conv2d conv;
  nn::Linear fc1, fc2;
  nn::Dropout dropout;
};

class AuxHead : public nn::ModuleHolder<AuxHeadImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  AuxHead(std::int64_t in_channels, std::int64_t classes, double dropout = 0.7)
      : ModuleHolder(std::make_shared<AuxHeadImpl>(in_channels, classes, dropout)) {}
};

struct AuxNetOptions {
  int convs_per_stage = 3;  ///< n above: 3n + 1 conv layers in all
  std::int64_t in_channels = 1, classes = 10;
  /// Build aux1 and aux2 (after the trunk, so that a seed gives the same trunk either way).
  bool aux_logits = true;
  double dropout_aux = 0.7;
};

/// torchvision's GoogLeNetOutputs: aux1/aux2 defined only in training mode with aux_logits.
struct AuxNetOutputs {
  Variable logits, aux1, aux2;
  bool has_aux() const { return aux1.defined(); }
};

/// Input [N, C, H, W] with H, W >= 8 (three 2x2 poolings).
class AuxNet : public nn::Module {
 public:
  explicit AuxNet(AuxNetOptions options = {});
  /// Training mode with aux_logits: all three logits; otherwise the main ones only (the heads
  /// are not run).
  AuxNetOutputs forward(const Variable& x);
  std::string name() const override { return "AuxNet"; }
  /// Every conv of the trunk, input side first (the stem is convs[0]).
  const std::vector<nn::Conv2d>& convs() const { return convs_; }

  AuxNetOptions options;
  nn::Linear fc;
  AuxHead aux1 = nullptr, aux2 = nullptr;  ///< empty unless options.aux_logits

 private:
  Variable stage(const Variable& x, int index) const;
  std::vector<nn::Conv2d> convs_;
};

/// One training step's losses and the weight-gradient norm of each watched parameter: from the
/// main loss alone and in total (the gradient the optimizer uses).
struct AuxStep {
  double main_loss = 0, aux_loss = 0;  ///< aux_loss: aux_weight * (aux1 + aux2), 0 without heads
  std::vector<double> grad_main, grad_total;
  Variable logits;
};

/// Forward, loss = main + aux_weight * (aux1 + aux2), backward (gradients accumulate into the
/// parameters; the caller zeroes them and steps). The main loss is back-propagated first, with
/// the graph kept, so that its share of each watched gradient can be read before the auxiliary
/// losses add theirs: the sum of both backward passes is the gradient of the whole loss.
AuxStep aux_step(AuxNet& model, const Variable& images, const Labels& labels, double aux_weight,
                 const std::vector<Variable>& watched);

/// The Frobenius norm of a tensor, summed in double.
double frobenius_norm(const Tensor& t);

}  // namespace tg::examples
