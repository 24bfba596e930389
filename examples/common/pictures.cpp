#include "examples/common/pictures.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "examples/common/plots.hpp"

namespace tg::examples {

namespace {

void draw_curves(const std::filesystem::path& out) {
  const auto rows = read_csv(out / "metrics.csv", 5);  // epoch, train loss/accuracy, test loss/accuracy
  if (rows.empty()) return;
  Series train_loss{"train", {}, {}}, test_loss{"test", {}, {}}, train_acc{"train", {}, {}},
      test_acc{"test", {}, {}}, ema_loss{"test (EMA weights)", {}, {}}, ema_acc{"test (EMA weights)", {}, {}};
  for (const auto& r : rows) {
    for (auto* s : {&train_loss, &test_loss, &train_acc, &test_acc}) s->x.push_back(r[0]);
    train_loss.y.push_back(r[1]), train_acc.y.push_back(100 * r[2]);
    test_loss.y.push_back(r[3]), test_acc.y.push_back(100 * r[4]);
    if (r.size() >= 8) {  // a run with --ema: its columns follow images_per_s
      ema_loss.x.push_back(r[0]), ema_acc.x.push_back(r[0]);
      ema_loss.y.push_back(r[6]), ema_acc.y.push_back(100 * r[7]);
    }
  }
  std::vector<Series> losses{train_loss, test_loss}, accuracies{train_acc, test_acc};
  if (!ema_acc.x.empty()) losses.push_back(ema_loss), accuracies.push_back(ema_acc);
  line_plots(out / "curves.png", {losses, accuracies},
             {{"cross-entropy loss", "epoch", "loss"}, {"accuracy", "epoch", "accuracy (%)", false, true}});
}

// Channels [first, first + count) of one image's activation [1, C, H, W] as images [count, 1, H, W].
Tensor channels_as_images(const Tensor& activation, std::size_t count) {
  const std::size_t c = std::min(count, activation.shape()[1]);
  const std::size_t h = activation.shape()[2], w = activation.shape()[3];
  Tensor images = empty_tensor({c, 1, h, w});
  std::memcpy(images.data(), activation.data(), c * h * w * sizeof(float));
  return images;
}

void draw_feature_maps(const std::filesystem::path& out, nn::Module& network, const DataChoice& data) {
  auto* cifar = dynamic_cast<ResNetCifar*>(&network);
  if (!cifar) {
    std::printf("feature maps: drawn for the CIFAR ResNets only, skipped for this %s\n", network.name().c_str());
    return;
  }
  ResNetCifar& model = *cifar;
  NoGradGuard no_grad;
  Tensor image = test_transform(data)(data.test->get(0).data, default_generator());
  image.reshape({1, image.shape()[0], image.shape()[1], image.shape()[2]});
  const auto stages = model.stage_outputs(Variable(image));
  const char* names[] = {"stem", "layer1", "layer2", "layer3"};
  for (std::size_t s = 0; s < stages.size(); ++s) {
    const Tensor maps = channels_as_images(stages[s].value(), 16);
    std::vector<std::string> captions;
    for (std::size_t k = 0; k < maps.shape()[0]; ++k) captions.push_back(std::string(names[s]) + " ch " + std::to_string(k));
    captioned_grid(out / ("feature_maps_" + std::string(names[s]) + ".png"), maps, captions, 8, true);
  }
}

// The first convolution's kernels: every ResNet names it conv1 (CIFAR: [16k, C, 3, 3];
// torchvision's: [64, C, 7, 7]).
void draw_kernels(const std::filesystem::path& out, const nn::Module& model) {
  const nn::StateDict state = model.state_dict();
  const Tensor* found = state.find("conv1.weight");
  if (!found) return;
  const Tensor& w = *found;
  std::vector<std::string> captions;
  for (std::size_t k = 0; k < w.shape()[0]; ++k) captions.push_back("kernel " + std::to_string(k));
  captioned_grid(out / "kernels.png", w, captions, 8, true);
}

void draw_misclassified(const std::filesystem::path& out, const DataChoice& data, const Evaluation& e) {
  std::vector<std::size_t> wrong;
  for (std::size_t i = 0; i < e.truth.size() && wrong.size() < 24; ++i)
    if (e.truth[i] != e.predicted[i]) wrong.push_back(i);
  if (wrong.empty()) return;
  const Tensor first = data.test->get(wrong[0]).data;
  const std::size_t per_image = first.size();
  Shape shape{wrong.size()};
  shape.insert(shape.end(), first.shape().begin(), first.shape().end());
  Tensor images = empty_tensor(shape);
  std::vector<std::string> captions;
  for (std::size_t k = 0; k < wrong.size(); ++k) {
    const Tensor img = data.test->get(wrong[k]).data;
    std::memcpy(images.data() + k * per_image, img.data(), per_image * sizeof(float));
    captions.push_back(data.class_names[std::size_t(e.truth[wrong[k]])] + " as " +
                       data.class_names[std::size_t(e.predicted[wrong[k]])]);
  }
  captioned_grid(out / "misclassified.png", images, captions, 6, false);
}

}  // namespace

void draw_pictures(const std::filesystem::path& out, nn::Module& model, const DataChoice& data,
                   const Evaluation& evaluation) {
  draw_curves(out);
  confusion_matrix_plot(out / "confusion_matrix.png", evaluation.confusion, data.class_names,
                        data.name + " test set: true vs predicted");
  draw_kernels(out, model);
  draw_feature_maps(out, model, data);
  draw_misclassified(out, data, evaluation);
}

}  // namespace tg::examples
