// Transfer learning, as the lecture notes teach it: train a ResNet on five Fashion-MNIST classes
// (T-shirt, Trouser, Pullover, Dress, Coat) and save it; load it into a new model with a fresh
// head for the other five (Sandal, Shirt, Sneaker, Bag, Ankle boot); freeze the backbone and
// train only the head; then unfreeze everything and fine-tune with a ten times lower learning
// rate for the backbone than for the head (two parameter groups).
//
// Run:   build/examples/transfer_learning [--depth 20] [--epochs 1] [--out out/transfer]
// Prints the test accuracy after each phase on that phase's five classes.

#include <cstdio>
#include <filesystem>

#include "examples/common/command_line.hpp"
#include "examples/common/resnet_cifar.hpp"
#include "examples/common/training.hpp"
#include <tapegrad/optim/optim.hpp>

using namespace tg;

// The samples of classes [first, first + 5) of a dataset, relabelled 0..4.
class FiveClasses : public data::Dataset {
 public:
  FiveClasses(std::shared_ptr<const data::Dataset> base, std::int64_t first, std::size_t limit)
      : base_(std::move(base)), first_(first) {
    for (std::size_t i = 0; i < base_->size() && (limit == 0 || index_.size() < limit); ++i) {
      const std::int64_t label = base_->get(i).target;
      if (label >= first_ && label < first_ + 5) index_.push_back(i);
    }
  }
  std::size_t size() const override { return index_.size(); }
  data::Example<> get(std::size_t i) const override {
    data::Example<> e = base_->get(index_.at(i));
    e.target -= first_;
    return e;
  }

 private:
  std::shared_ptr<const data::Dataset> base_;
  std::int64_t first_;
  std::vector<std::size_t> index_;
};

struct Phase {
  const char* name;
  int epochs;
};

double train_and_test(examples::ResNetCifar& model, optim::Optimizer& opt, const data::Dataset& train,
                      const data::Dataset& test, const Phase& phase, std::int64_t batch_size) {
  const data::Transform normalize = data::transforms::Normalize({0.2860f}, {0.3530f});
  data::DataLoader train_loader(train, {.batch_size = batch_size, .shuffle = true, .num_workers = 2},
                                data::transforms::Compose({data::transforms::RandomHorizontalFlip(0.5f), normalize}));
  data::DataLoader test_loader(test, {.batch_size = 500, .num_workers = 2}, normalize);
  for (int epoch = 0; epoch < phase.epochs; ++epoch) {
    model.train();
    examples::Progress progress(std::string(phase.name) + " epoch " + std::to_string(epoch + 1), train_loader.size());
    for (const auto& batch : train_loader) {
      opt.zero_grad();
      const Variable logits = model.forward(batch.data);
      const Variable loss = cross_entropy(logits, batch.target);
      loss.backward();
      opt.step();
      progress.update(batch.target.size(), loss.item(), examples::count_correct(logits.value(), batch.target));
    }
    progress.finish();
  }
  model.eval();
  const double accuracy = examples::evaluate([&](const Variable& x) { return model.forward(x); }, test_loader, 5).accuracy;
  std::printf("%s: test accuracy %.2f%%\n", phase.name, 100 * accuracy);
  return accuracy;
}

int main(int argc, char** argv) {
  int depth = 20, epochs = 1, batch_size = 128;
  std::size_t limit = 0;
  std::string out = "out/transfer", data_root;
  examples::CommandLine app{"Transfer learning between the two halves of Fashion-MNIST."};
  app.option("--depth", depth, "ResNet depth (6n + 2)").show_default();
  app.option("--epochs", epochs, "epochs per phase").show_default();
  app.option("--batch-size", batch_size, "images per batch").show_default();
  app.option("--limit", limit, "use only the first N matching training images (0: all)");
  app.option("--out", out, "output folder").show_default();
  app.option("--data-root", data_root, "Fashion-MNIST folder (default: Debian's copy)");
  if (const auto exit_code = app.parse(argc, argv)) return *exit_code;
  try {
    manual_seed(0);
    using data::FashionMNIST, data::Split;
    auto train_all = data_root.empty() ? std::make_shared<FashionMNIST>(Split::Train)
                                       : std::make_shared<FashionMNIST>(data_root, Split::Train);
    auto test_all = data_root.empty() ? std::make_shared<FashionMNIST>(Split::Test)
                                      : std::make_shared<FashionMNIST>(data_root, Split::Test);
    const FiveClasses source_train(train_all, 0, limit), source_test(test_all, 0, 0);
    const FiveClasses target_train(train_all, 5, limit), target_test(test_all, 5, 0);
    const std::filesystem::path weights = std::filesystem::path(out) / "source.safetensors";
    std::filesystem::create_directories(out);

    {  // Phase 1: the source task, from scratch.
      examples::ResNetCifar source(depth, 1, 5);
      optim::SGD opt(source.parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4});
      train_and_test(source, opt, source_train, source_test, {"source (classes 0-4)", epochs}, batch_size);
      nn::save(source, weights);
    }

    examples::ResNetCifar model(depth, 1, 5);
    nn::load(model, weights);
    model.reset_classifier();
    for (auto& [name, p] : model.named_parameters())
      if (name.rfind("fc.", 0) != 0) p.set_requires_grad(false);
    {  // Phase 2: only the new head learns (BN statistics still adapt in train mode).
      optim::SGD opt(model.fc->parameters(), {.lr = 0.05, .momentum = 0.9});
      train_and_test(model, opt, target_train, target_test, {"target, frozen backbone", epochs}, batch_size);
    }
    std::vector<Variable> backbone;
    for (auto& [name, p] : model.named_parameters())
      if (name.rfind("fc.", 0) != 0) {
        p.set_requires_grad(true);
        backbone.push_back(p);
      }
    {  // Phase 3: everything learns, the pretrained backbone ten times slower than the head.
      optim::SGD opt({{backbone, {.lr = 0.005}}, {model.fc->parameters()}}, {.lr = 0.05, .momentum = 0.9});
      train_and_test(model, opt, target_train, target_test, {"target, fine-tuned", epochs}, batch_size);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "transfer_learning: %s\n", e.what());
    return 1;
  }
}
