#pragma once
/// @file
/// torchvision's GoogLeNet (Szegedy et al. 2015, "Going deeper with convolutions"): Inception
/// blocks whose 1x1 convolutions reduce the channels before the 3x3 and "5x5" branches, and two
/// auxiliary classifiers on inception4a and inception4d whose losses are added in training.
/// torchvision 0.14's names and its quirks: every conv is a BasicConv2d (conv without bias, BN
/// with eps 0.001, ReLU), and the "5x5" branch uses a 3x3 kernel, as in torchvision's weights.
#include <cstdint>

#include "tapegrad/nn/nn.hpp"

namespace tg::vision::models {

/// conv (no bias) -> BatchNorm2d(eps 0.001) -> ReLU; names conv, bn.
class BasicConv2dImpl : public nn::Layer {
 public:
  /// The convolution's arguments (its bias option is ignored: the conv has none).
  BasicConv2dImpl(std::int64_t in_channels, std::int64_t out_channels, nn::Size2 kernel_size,
                  nn::Conv2dOptions options = {});
  Variable forward(const Variable& x) override;
  std::string name() const override { return "BasicConv2d"; }

  nn::Conv2d conv;     ///< without bias
  nn::BatchNorm2d bn;  ///< eps 0.001
};

/// Holder of a BasicConv2dImpl.
class BasicConv2d : public nn::ModuleHolder<BasicConv2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new BasicConv2dImpl with these arguments.
  BasicConv2d(std::int64_t in_channels, std::int64_t out_channels, nn::Size2 kernel_size,
              nn::Conv2dOptions options = {})
      : ModuleHolder(std::make_shared<BasicConv2dImpl>(in_channels, out_channels, kernel_size,
                                                       options)) {}
};

/// Four branches concatenated along channels: 1x1; 1x1 reduce -> 3x3; 1x1 reduce -> 3x3;
/// 3x3 max pool (stride 1) -> 1x1 projection. Output channels ch1x1 + ch3x3 + ch5x5 + pool_proj.
class InceptionImpl : public nn::Layer {
 public:
  /// Input channels and each branch's channels, torchvision's argument names ("red": the 1x1
  /// reduction before the 3x3; torchvision's "5x5" branch is a 3x3, kept for its names).
  InceptionImpl(std::int64_t in_channels, std::int64_t ch1x1, std::int64_t ch3x3red,
                std::int64_t ch3x3, std::int64_t ch5x5red, std::int64_t ch5x5,
                std::int64_t pool_proj);
  Variable forward(const Variable& x) override;
  std::string name() const override { return "Inception"; }

  BasicConv2d branch1;  ///< 1x1
  ///@{
  /// 1x1 -> 3x3; 1x1 -> 3x3; max pool -> 1x1, torchvision's names and indices.
  nn::Sequential branch2, branch3, branch4;
  ///@}
};

/// Holder of an InceptionImpl.
class Inception : public nn::ModuleHolder<InceptionImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new InceptionImpl with these channels.
  Inception(std::int64_t in_channels, std::int64_t ch1x1, std::int64_t ch3x3red,
            std::int64_t ch3x3, std::int64_t ch5x5red, std::int64_t ch5x5, std::int64_t pool_proj)
      : ModuleHolder(std::make_shared<InceptionImpl>(in_channels, ch1x1, ch3x3red, ch3x3,
                                                     ch5x5red, ch5x5, pool_proj)) {}
};

/// An auxiliary classifier: adaptive average pool to 4x4, 1x1 conv to 128 channels, fc1 (2048 ->
/// 1024) + ReLU, dropout, fc2 (1024 -> num_classes).
class InceptionAuxImpl : public nn::Layer {
 public:
  /// A head on a feature map of in_channels, with `dropout` before fc2.
  InceptionAuxImpl(std::int64_t in_channels, std::int64_t num_classes, double dropout = 0.7);
  Variable forward(const Variable& x) override;
  std::string name() const override { return "InceptionAux"; }

  BasicConv2d conv;  ///< 1x1, in_channels -> 128
  ///@{
  /// 2048 -> 1024 and 1024 -> num_classes.
  nn::Linear fc1, fc2;
  ///@}
  nn::Dropout dropout;  ///< between fc1 and fc2
};

/// Holder of an InceptionAuxImpl.
class InceptionAux : public nn::ModuleHolder<InceptionAuxImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new InceptionAuxImpl with these arguments.
  InceptionAux(std::int64_t in_channels, std::int64_t num_classes, double dropout = 0.7)
      : ModuleHolder(std::make_shared<InceptionAuxImpl>(in_channels, num_classes, dropout)) {}
};

/// `{.num_classes = 10, .aux_logits = true}`.
struct GoogLeNetOptions {
  std::int64_t num_classes = 1000;  ///< outputs of fc (and of the auxiliary heads)
  /// Build aux1 and aux2 (in the state dict) and return their logits in training mode.
  bool aux_logits = true;
  /// Map inputs normalised with ImageNet's mean/std to the [-1, 1] scaling of Google's weights.
  bool transform_input = false;
  double dropout = 0.2;      ///< before fc
  double dropout_aux = 0.7;  ///< in each auxiliary classifier
};

/// torchvision's GoogLeNetOutputs: `logits` always; aux_logits1 (head aux1, on inception4a) and
/// aux_logits2 (aux2, on inception4d) only in training mode with aux_logits, undefined
/// otherwise. Converts to the main logits, so `Variable y = model.forward(x)` reads as in
/// eval-mode PyTorch. Note: torchvision 0.14 swaps the two fields (its aux_logits1 holds aux2's
/// output); here each field holds its own head's.
struct GoogLeNetOutputs {
  ///@{
  /// [N, num_classes] each; the auxiliary ones may be undefined (see above).
  Variable logits, aux_logits2, aux_logits1;
  ///@}
  /// Whether the auxiliary logits are defined.
  bool has_aux() const { return aux_logits1.defined(); }
  /// The main logits.
  operator Variable() const { return logits; }
};

/// Input [N, 3, H, W] with H, W >= 15; 6,624,904 parameters with 1000 classes and no
/// auxiliary heads (13,004,888 with them). Initialised as torchvision does.
class GoogLeNet : public nn::Module {
 public:
  /// A new GoogLeNet, initialised as torchvision does.
  explicit GoogLeNet(GoogLeNetOptions options = {});
  /// x [N, 3, H, W] -> the logits [N, num_classes] (and the auxiliary heads' in training).
  GoogLeNetOutputs forward(const Variable& x);
  std::string name() const override { return "GoogLeNet"; }

  GoogLeNetOptions options;  ///< as constructed
  ///@{
  /// The layers in forward order, torchvision's names (the state dict's keys).
  BasicConv2d conv1;
  nn::MaxPool2d maxpool1;
  BasicConv2d conv2, conv3;
  nn::MaxPool2d maxpool2;
  Inception inception3a, inception3b;
  nn::MaxPool2d maxpool3;
  Inception inception4a, inception4b, inception4c, inception4d, inception4e;
  nn::MaxPool2d maxpool4;
  Inception inception5a, inception5b;
  ///@}
  ///@{
  /// The auxiliary heads on inception4a and inception4d; empty unless options.aux_logits.
  InceptionAux aux1 = nullptr, aux2 = nullptr;
  ///@}
  ///@{
  /// The classifier: global average pool, dropout, fc (1024 -> num_classes).
  nn::AdaptiveAvgPool2d avgpool;
  nn::Dropout dropout;
  nn::Linear fc;
  ///@}

 private:
  Variable transform(const Variable& x) const;
};

/// torchvision.models.googlenet: `auto g = googlenet({.num_classes = 10});`.
GoogLeNet googlenet(GoogLeNetOptions options = {});

}  // namespace tg::vision::models
