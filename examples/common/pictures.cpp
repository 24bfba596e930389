#include "examples/common/pictures.hpp"

#include <algorithm>
#include <cstring>

#include "examples/common/plots.hpp"

namespace tg::examples {

namespace {

void draw_curves(const std::filesystem::path& out) {
  const auto rows = read_csv(out / "metrics.csv");
  if (rows.empty()) return;
  Series train_loss{"train", {}, {}}, test_loss{"test", {}, {}}, train_acc{"train", {}, {}},
      test_acc{"test", {}, {}};
  for (const auto& r : rows) {
    for (auto* s : {&train_loss, &test_loss, &train_acc, &test_acc}) s->x.push_back(r[0]);
    train_loss.y.push_back(r[1]), train_acc.y.push_back(100 * r[2]);
    test_loss.y.push_back(r[3]), test_acc.y.push_back(100 * r[4]);
  }
  line_plots(out / "curves.png", {{train_loss, test_loss}, {train_acc, test_acc}},
             {{"cross-entropy loss", "epoch", "loss"}, {"accuracy", "epoch", "accuracy (%)", false, true}});
}

// Channels [first, first + count) of one image's activation [1, C, H, W] as images [count, 1, H, W].
Tensor channels_as_images(const Tensor& activation, std::size_t count) {
  const std::size_t c = std::min(count, activation.shape()[1]);
  const std::size_t h = activation.shape()[2], w = activation.shape()[3];
  Tensor images = empty({c, 1, h, w});
  std::memcpy(images.data(), activation.data(), c * h * w * sizeof(float));
  return images;
}

void draw_feature_maps(const std::filesystem::path& out, ResNetCifar& model, const DataChoice& data) {
  NoGradGuard no_grad;
  Tensor image = test_transform(data)(data.test->get(0).image, default_generator());
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

void draw_kernels(const std::filesystem::path& out, ResNetCifar& model) {
  const Tensor& w = model.conv1->weight.value();  // [16, C, 3, 3]
  std::vector<std::string> captions;
  for (std::size_t k = 0; k < w.shape()[0]; ++k) captions.push_back("kernel " + std::to_string(k));
  captioned_grid(out / "kernels.png", w, captions, 8, true);
}

void draw_misclassified(const std::filesystem::path& out, const DataChoice& data, const Evaluation& e) {
  std::vector<std::size_t> wrong;
  for (std::size_t i = 0; i < e.truth.size() && wrong.size() < 24; ++i)
    if (e.truth[i] != e.predicted[i]) wrong.push_back(i);
  if (wrong.empty()) return;
  const Tensor first = data.test->get(wrong[0]).image;
  const std::size_t per_image = first.size();
  Shape shape{wrong.size()};
  shape.insert(shape.end(), first.shape().begin(), first.shape().end());
  Tensor images = empty(shape);
  std::vector<std::string> captions;
  for (std::size_t k = 0; k < wrong.size(); ++k) {
    const Tensor img = data.test->get(wrong[k]).image;
    std::memcpy(images.data() + k * per_image, img.data(), per_image * sizeof(float));
    captions.push_back(data.class_names[std::size_t(e.truth[wrong[k]])] + " as " +
                       data.class_names[std::size_t(e.predicted[wrong[k]])]);
  }
  captioned_grid(out / "misclassified.png", images, captions, 6, false);
}

}  // namespace

void draw_pictures(const std::filesystem::path& out, ResNetCifar& model, const DataChoice& data,
                   const Evaluation& evaluation) {
  draw_curves(out);
  confusion_matrix_plot(out / "confusion_matrix.png", evaluation.confusion, data.class_names,
                        data.name + " test set: true vs predicted");
  draw_kernels(out, model);
  draw_feature_maps(out, model, data);
  draw_misclassified(out, data, evaluation);
}

}  // namespace tg::examples
