#include "examples/auxiliary_losses/aux_net.hpp"

#include <cmath>

namespace tg::examples {

AuxHeadImpl::AuxHeadImpl(std::int64_t in_channels, std::int64_t classes, double dropout_p)
    : conv(in_channels, 32, 1), fc1(32 * 4 * 4, 128), fc2(128, classes), dropout(dropout_p) {
  register_module("conv", conv);
  register_module("fc1", fc1);
  register_module("fc2", fc2);
  register_module("dropout", dropout);
}

// [N, C, 14, 14] or [N, C, 7, 7] -> [N, C, 4, 4] -> [N, 32, 4, 4] -> [N, 512] -> [N, 128] -> classes.
Variable AuxHeadImpl::forward(const Variable& x) {
  Variable y = relu(conv(adaptive_avg_pool2d(x, {4, 4}))).flatten(1);
  return fc2(dropout(relu(fc1(y))));
}

namespace {
AuxNetOptions checked(const AuxNetOptions& o) {
  TG_CHECK(o.convs_per_stage >= 1, "AuxNet: expected convs_per_stage >= 1, got ", o.convs_per_stage);
  TG_CHECK(o.in_channels >= 1 && o.classes >= 2, "AuxNet: expected in_channels >= 1 and classes >= 2, got ",
           o.in_channels, " and ", o.classes);
  TG_CHECK(o.dropout_aux >= 0 && o.dropout_aux < 1, "AuxNet: expected dropout_aux in [0, 1), got ", o.dropout_aux);
  return o;
}
}  // namespace

AuxNet::AuxNet(AuxNetOptions o) : options(checked(o)), fc(64, o.classes) {
  const std::int64_t widths[] = {16, 32, 64};
  convs_.emplace_back(o.in_channels, 16, 3, nn::Conv2dOptions{.padding = 1});  // the stem
  std::int64_t in = 16;
  for (std::int64_t width : widths)
    for (int i = 0; i < o.convs_per_stage; ++i, in = width) convs_.emplace_back(in, width, 3, nn::Conv2dOptions{.padding = 1});
  for (std::size_t i = 0; i < convs_.size(); ++i) register_module("conv" + std::to_string(i + 1), convs_[i]);
  register_module("fc", fc);
  if (o.aux_logits) {  // drawn after the trunk: the same seed gives the same trunk without heads
    aux1 = register_module("aux1", AuxHead(16, o.classes, o.dropout_aux));
    aux2 = register_module("aux2", AuxHead(32, o.classes, o.dropout_aux));
  }
}

// Stage k (1..3) after the stem: a 2x2 max-pool, then n conv + ReLU layers.
Variable AuxNet::stage(const Variable& x, int index) const {
  const int n = options.convs_per_stage;
  Variable y = max_pool2d(x, 2, 2);
  for (int i = 0; i < n; ++i) y = relu(convs_[std::size_t(1 + (index - 1) * n + i)](y));
  return y;
}

AuxNetOutputs AuxNet::forward(const Variable& x) {
  nn::ModuleScope scope(*this);
  TG_CHECK(x.dim() == 4 && x.shape()[1] == std::size_t(options.in_channels) && x.shape()[2] >= 8 &&
               x.shape()[3] >= 8,
           "AuxNet: expected input [N, ", options.in_channels, ", H >= 8, W >= 8], got ", shape_str(x.shape()));
  const bool heads = is_training() && options.aux_logits;
  AuxNetOutputs out;
  Variable y = stage(relu(convs_[0](x)), 1);
  if (heads) out.aux1 = aux1(y);
  y = stage(y, 2);
  if (heads) out.aux2 = aux2(y);
  y = stage(y, 3);
  out.logits = fc(mean(y.flatten(2), 2));  // global average pooling
  return out;
}

double frobenius_norm(const Tensor& t) {
  double s = 0;
  for (float v : t) s += double(v) * v;
  return std::sqrt(s);
}

namespace {
std::vector<double> grad_norms(const std::vector<Variable>& watched) {
  std::vector<double> norms;
  for (const auto& p : watched) norms.push_back(frobenius_norm(p.grad()));
  return norms;
}
}  // namespace

AuxStep aux_step(AuxNet& model, const Variable& images, const Labels& labels, double aux_weight,
                 const std::vector<Variable>& watched) {
  const AuxNetOutputs out = model.forward(images);
  AuxStep step;
  step.logits = out.logits;
  const Variable main = cross_entropy(out.logits, labels);
  step.main_loss = main.item();
  if (!out.has_aux()) {
    main.backward();
    step.grad_main = step.grad_total = grad_norms(watched);
    return step;
  }
  main.backward({.retain_graph = true});  // the trunk's graph is walked again for the heads
  step.grad_main = grad_norms(watched);
  const Variable aux = (cross_entropy(out.aux1, labels) + cross_entropy(out.aux2, labels)) * float(aux_weight);
  step.aux_loss = aux.item();
  aux.backward();
  step.grad_total = grad_norms(watched);
  return step;
}

}  // namespace tg::examples
