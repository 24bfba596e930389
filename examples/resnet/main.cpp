// A ResNet on Fashion-MNIST, the whole training program in one file: the CIFAR-style ResNet-20
// of He et al. (2016, section 4.2), its residual blocks written out below, trained with SGD
// (momentum 0.9, weight decay 5e-4) and a cosine learning-rate schedule, evaluated on the test
// set after each epoch; the weights are saved at the end (safetensors, PyTorch's names).
// Copy it to start a program of your own. The full trainer (recipes, time budgets, EMA,
// test-time augmentation, MPI, ONNX export) is examples/trainer.
//
// Run:   build/examples/resnet                 (Debian's Fashion-MNIST, 3 epochs)
//        build/examples/resnet --epochs 1 --batch-size 64 --lr 0.05 --data DIR --threads 2
//                              --checkpoint resnet.safetensors
// Prints the network's size, then for each epoch the mean training loss, the test loss, the test
// accuracy and the epoch's seconds, and finally where the weights went.

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace nn = tg::nn;

// Two 3x3 convolutions with batch norm, added to the block's input (He et al., Figure 2). A block
// that halves the maps or widens the channels brings its input to the output's shape with a 1x1
// convolution and batch norm (the projection shortcut, "option B").
struct ResidualBlock : nn::Module {
  nn::Conv2d conv1, conv2;
  nn::BatchNorm2d bn1, bn2;
  nn::Conv2d shortcut_conv{nullptr};
  nn::BatchNorm2d shortcut_bn{nullptr};

  ResidualBlock(std::int64_t in, std::int64_t out, std::int64_t stride)
      : conv1(in, out, 3, {.stride = stride, .padding = 1, .bias = false}),
        conv2(out, out, 3, {.stride = 1, .padding = 1, .bias = false}),
        bn1(out),
        bn2(out) {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("bn2", bn2);
    if (stride != 1 || in != out) {
      shortcut_conv = nn::Conv2d(in, out, 1, {.stride = stride, .bias = false});
      shortcut_bn = nn::BatchNorm2d(out);
      register_module("shortcut_conv", shortcut_conv);
      register_module("shortcut_bn", shortcut_bn);
    }
  }

  tg::Variable forward(const tg::Variable& x) {
    tg::Variable out = tg::relu(bn1(conv1(x)));
    out = bn2(conv2(out));
    const tg::Variable shortcut = shortcut_conv.is_empty() ? x : shortcut_bn(shortcut_conv(x));
    return tg::relu(out + shortcut);
  }
};

// A 3x3 stem of 16 channels, three stages of 3 blocks (16, 32 and 64 channels; the second and
// third start with stride 2: 28x28 maps become 14x14, then 7x7), global average pooling and a
// linear classifier: 1 + 3 * 3 * 2 + 1 = 20 layers with weights.
struct ResNet : nn::Module {
  nn::Conv2d stem;
  nn::BatchNorm2d stem_bn;
  std::vector<std::shared_ptr<ResidualBlock>> blocks;
  nn::AdaptiveAvgPool2d pool{{1, 1}};
  nn::Linear fc;

  ResNet(std::int64_t channels, std::int64_t classes)
      : stem(channels, 16, 3, {.stride = 1, .padding = 1, .bias = false}), stem_bn(16), fc(64, classes) {
    register_module("stem", stem);
    register_module("stem_bn", stem_bn);
    std::int64_t in = 16;
    for (const std::int64_t width : {16, 32, 64})
      for (int b = 0; b < 3; ++b) {
        const std::int64_t stride = b == 0 && width != 16 ? 2 : 1;
        const std::string name = "block" + std::to_string(blocks.size() + 1);
        blocks.push_back(register_module(name, std::make_shared<ResidualBlock>(in, width, stride)));
        in = width;
      }
    register_module("pool", pool);
    register_module("fc", fc);
  }

  tg::Variable forward(tg::Variable x) {
    x = tg::relu(stem_bn(stem(x)));
    for (const auto& block : blocks) x = block->forward(x);
    return fc(pool(x).flatten());  // [N, 64, 7, 7] -> [N, 64] -> [N, classes]
  }
};

struct Options {
  int epochs = 3;
  std::int64_t batch_size = 128;
  double lr = 0.1;
  std::string data = tg::data::kFashionMnistDefaultRoot;
  int threads = 0;  // 0: all cores
  std::string checkpoint = "resnet.safetensors";
};

// A whole number or a decimal, all of `text`, else an error naming the option.
template <class T>
T number(const std::string& option, const std::string& text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    throw std::invalid_argument(option + ": expected a number, got '" + text + "'");
  return value;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string option = argv[i];
    if (option == "--help" || option == "-h") {
      std::printf("usage: resnet [--epochs 3] [--batch-size 128] [--lr 0.1] [--data %s]\n"
                  "              [--threads 0 (all cores)] [--checkpoint resnet.safetensors]\n", o.data.c_str());
      std::exit(0);
    }
    if (i + 1 == argc) throw std::invalid_argument(option + ": expected a value after it (--help lists the options)");
    const std::string value = argv[++i];
    if (option == "--epochs") o.epochs = number<int>(option, value);
    else if (option == "--batch-size") o.batch_size = number<std::int64_t>(option, value);
    else if (option == "--lr") o.lr = number<double>(option, value);
    else if (option == "--data") o.data = value;
    else if (option == "--threads") o.threads = number<int>(option, value);
    else if (option == "--checkpoint") o.checkpoint = value;
    else throw std::invalid_argument("unknown option " + option + " (--help lists the options)");
  }
  if (o.epochs < 1) throw std::invalid_argument("--epochs: expected at least 1");
  if (o.batch_size < 1) throw std::invalid_argument("--batch-size: expected at least 1");
  if (!(o.lr > 0 && std::isfinite(o.lr))) throw std::invalid_argument("--lr: expected a number > 0");
  if (o.threads < 0 || o.threads > 1024) throw std::invalid_argument("--threads: expected a number in [0, 1024]");
  return o;
}

struct Evaluation {
  double loss = 0, accuracy = 0;
};

// Mean loss and accuracy over the whole test set, in evaluation mode (BatchNorm's running
// statistics) and without recording the graph.
Evaluation evaluate(ResNet& model, tg::data::DataLoader& loader) {
  model.eval();
  tg::NoGradGuard no_grad;
  double loss_sum = 0;
  std::size_t correct = 0, seen = 0;
  for (const auto& batch : loader) {
    const tg::Variable logits = model.forward(batch.data);
    const std::size_t n = batch.target.size();
    loss_sum += double(tg::cross_entropy(logits, batch.target).item()) * double(n);
    const tg::Labels predicted = tg::argmax(logits.value(), 1);
    for (std::size_t i = 0; i < n; ++i) correct += predicted(i) == batch.target(i);
    seen += n;
  }
  model.train();
  return {loss_sum / double(seen), double(correct) / double(seen)};
}

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    if (o.threads > 0) tg::set_num_threads(o.threads);
    tg::manual_seed(0);

    // Pixels in [0, 1], normalised with Fashion-MNIST's mean and standard deviation.
    const tg::data::FashionMNIST train_set(o.data, tg::data::Split::Train), test_set(o.data, tg::data::Split::Test);
    const tg::data::transforms::Normalize normalize({0.2860f}, {0.3530f});
    tg::data::DataLoader train_loader(train_set, {.batch_size = o.batch_size, .shuffle = true}, normalize);
    tg::data::DataLoader test_loader(test_set, {.batch_size = 500}, normalize);

    ResNet model(1, 10);
    std::printf("ResNet-20: %zu parameters; %zu training and %zu test images\n", model.num_parameters(),
                train_set.size(), test_set.size());
    std::fflush(stdout);  // shown now, also when the output goes to a file or a pipe
    tg::optim::SGD optimizer(model.parameters(), {.lr = o.lr, .momentum = 0.9, .weight_decay = 5e-4});
    // The rate falls from --lr to 0 along half a cosine, one step per batch.
    tg::optim::CosineAnnealingLR schedule(optimizer, std::int64_t(train_loader.size()) * o.epochs);

    for (int epoch = 1; epoch <= o.epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      double loss_sum = 0;
      std::size_t seen = 0;
      for (const auto& batch : train_loader) {
        optimizer.zero_grad();
        tg::Variable loss = tg::cross_entropy(model.forward(batch.data), batch.target);
        loss.backward();
        optimizer.step();
        schedule.step();
        loss_sum += double(loss.item()) * double(batch.target.size());
        seen += batch.target.size();
      }
      const Evaluation test = evaluate(model, test_loader);
      const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
      std::printf("epoch %d/%d  train loss %.4f  test loss %.4f  test accuracy %.2f%%  (%.1f s)\n", epoch, o.epochs,
                  loss_sum / double(seen), test.loss, 100 * test.accuracy, seconds.count());
      std::fflush(stdout);
    }
    tg::nn::save(model, o.checkpoint);
    std::printf("weights saved in %s\n", o.checkpoint.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "resnet: %s\n", e.what());
    return 1;
  }
}
