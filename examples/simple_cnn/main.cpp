// The seed network of the lecture notes, line by line from its PyTorch version: conv 5@5x5 ->
// ReLU -> max-pool -> conv 10@5x5 -> ReLU -> max-pool -> flatten -> linear 32 -> ReLU -> linear
// 10, trained with SGD + momentum on Fashion-MNIST (28x28 grey: the flatten is 10*4*4) or on
// CIFAR-10 (32x32 colour: 10*5*5, as in the notes) when given --cifar10 DIR.
//
// Run:   build/examples/simple_cnn [--epochs 2] [--cifar10 data/cifar-10-batches-bin]
// Prints the loss every 200 batches, the mean loss and test accuracy after each epoch, and
// saves the weights as simple_cnn.safetensors (PyTorch's names) in --out.

#include <charconv>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <tapegrad/tapegrad.hpp>

// Side of the feature maps after conv k5 -> pool 2 -> conv k5 -> pool 2: (N - F)/S + 1 each time.
int final_side(int image_size) { return ((image_size - 4) / 2 - 4) / 2; }

struct SimpleCNN : tg::nn::Module {
  int flat;  // 10 * 4 * 4 for 28x28 input, 10 * 5 * 5 for 32x32
  tg::nn::Conv2d conv1;
  tg::nn::MaxPool2d pool{2, 2};
  tg::nn::Conv2d conv2{5, 10, 5};
  tg::nn::Linear fc1;
  tg::nn::Linear fc2{32, 10};

  SimpleCNN(int channels, int image_size)
      : flat(10 * final_side(image_size) * final_side(image_size)),
        conv1(channels, 5, 5),
        fc1(flat, 32) {
    register_module("conv1", conv1);
    register_module("pool", pool);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }

  tg::Variable forward(tg::Variable x) {
    x = pool(tg::relu(conv1(x)));
    x = pool(tg::relu(conv2(x)));
    x = x.view({-1, flat});
    x = tg::relu(fc1(x));
    return fc2(x);
  }
};

int main(int argc, char** argv) {
  int epochs = 2;
  std::string cifar, fashion_root, out = ".";
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string option = argv[i];
      if (option == "--help" || option == "-h") {
        std::printf("Train the lecture notes' SimpleCNN with tapegrad.\n"
                    "usage: simple_cnn [--epochs 2] [--cifar10 DIR (CIFAR-10 instead of Fashion-MNIST)]\n"
                    "                  [--data-root DIR (Fashion-MNIST; default: Debian's copy)] [--out .]\n");
        return 0;
      }
      if (i + 1 == argc) throw std::invalid_argument(option + ": expected a value after it (--help lists the options)");
      const std::string value = argv[++i];
      if (option == "--epochs") {
        const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), epochs);
        if (error != std::errc() || end != value.data() + value.size() || epochs < 1)
          throw std::invalid_argument("--epochs: expected a whole number >= 1, got '" + value + "'");
      } else if (option == "--cifar10") {
        cifar = value;
      } else if (option == "--data-root") {
        fashion_root = value;
      } else if (option == "--out") {
        out = value;
      } else {
        throw std::invalid_argument("unknown option " + option + " (--help lists the options)");
      }
    }
    tg::manual_seed(0);
    using tg::data::Split;
    std::shared_ptr<const tg::data::Dataset> train, test;
    if (cifar.empty() && fashion_root.empty()) {
      train = std::make_shared<tg::data::FashionMNIST>(Split::Train);
      test = std::make_shared<tg::data::FashionMNIST>(Split::Test);
    } else if (cifar.empty()) {
      train = std::make_shared<tg::data::FashionMNIST>(fashion_root, Split::Train);
      test = std::make_shared<tg::data::FashionMNIST>(fashion_root, Split::Test);
    } else {
      train = std::make_shared<tg::data::CIFAR10>(cifar, Split::Train);
      test = std::make_shared<tg::data::CIFAR10>(cifar, Split::Test);
    }
    const auto shape = train->get(0).data.shape();  // [C, H, W]
    SimpleCNN model{static_cast<int>(shape[0]), static_cast<int>(shape[1])};
    tg::optim::SGD opt(model.parameters(), {.lr = 0.01, .momentum = 0.9});
    tg::data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .num_workers = 2}, {});
    tg::data::DataLoader test_loader(test, {.batch_size = 1000}, {});
    for (int epoch = 0; epoch < epochs; ++epoch) {
      int step = 0;
      double loss_sum = 0;
      for (const auto& batch : loader) {
        opt.zero_grad();
        auto loss = tg::cross_entropy(model.forward(batch.data), batch.target);
        loss.backward();
        opt.step();
        loss_sum += loss.item();
        if (++step % 200 == 0) std::printf("epoch %d step %d loss %.4f\n", epoch + 1, step, loss.item());
      }
      tg::NoGradGuard no_grad;
      std::size_t correct = 0;
      for (const auto& batch : test_loader) {
        const tg::Labels predicted = tg::argmax(model.forward(batch.data).value(), 1);
        for (std::size_t i = 0; i < predicted.size(); ++i) correct += predicted(i) == batch.target(i);
      }
      std::printf("epoch %d: mean loss %.4f, test accuracy %.2f%%\n", epoch + 1, loss_sum / step,
                  100.0 * double(correct) / double(test->size()));
    }
    const std::string weights = out + "/simple_cnn.safetensors";
    tg::nn::save(model, weights);
    std::printf("saved %s\n", weights.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "simple_cnn: %s\n", e.what());
    return 1;
  }
}
