// LibTorch's DCGAN example (pytorch/examples, cpp/dcgan) in tapegrad, on Fashion-MNIST: a
// generator of four ConvTranspose2d layers (noise [N, 100, 1, 1] -> 4x4 -> 7x7 -> 14x14 ->
// 28x28, BatchNorm + ReLU between, tanh at the end) against a discriminator of four
// Conv2d layers (LeakyReLU 0.2, BatchNorm, a sigmoid at the end), both trained with Adam
// (lr 2e-4, betas (0.5, 0.5)) on binary_cross_entropy, real labels drawn from U(0.8, 1.0) -
// the original's architecture and hyper-parameters, with images scaled to [-1, 1].
//
// Run:   build/examples/dcgan [--epochs 5] [--batches 0] [--batch-size 64] [--seed 1]
//                             [--data-root DIR] [--out DIR] [--log-interval 10]
// --epochs defaults to 5 (the original: 30, hours on a CPU); --batches N stops each epoch after
// N batches (0: the whole training set), for a quick run.
// Prints "[epoch/epochs][batch/batches] D_loss: ... | G_loss: ..." every --log-interval
// batches and after the last batch of an epoch, as the original does, and after each epoch
// saves 64 samples from a fixed noise batch as an 8x8 grid, DIR/dcgan-epoch-<epoch>.png
// (printed as "saved DIR/dcgan-epoch-1.png").

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

namespace nn = tg::nn;

constexpr std::int64_t kNoiseSize = 100;  // the size of the noise vector fed to the generator

struct DCGANGenerator : nn::Module {
  nn::ConvTranspose2d conv1{kNoiseSize, 256, 4, {.bias = false}};
  nn::BatchNorm2d batch_norm1{256};
  nn::ConvTranspose2d conv2{256, 128, 3, {.stride = 2, .padding = 1, .bias = false}};
  nn::BatchNorm2d batch_norm2{128};
  nn::ConvTranspose2d conv3{128, 64, 4, {.stride = 2, .padding = 1, .bias = false}};
  nn::BatchNorm2d batch_norm3{64};
  nn::ConvTranspose2d conv4{64, 1, 4, {.stride = 2, .padding = 1, .bias = false}};

  DCGANGenerator() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("conv3", conv3);
    register_module("conv4", conv4);
    register_module("batch_norm1", batch_norm1);
    register_module("batch_norm2", batch_norm2);
    register_module("batch_norm3", batch_norm3);
  }

  tg::Variable forward(tg::Variable x) {
    x = tg::relu(batch_norm1(conv1(x)));
    x = tg::relu(batch_norm2(conv2(x)));
    x = tg::relu(batch_norm3(conv3(x)));
    return tg::tanh(conv4(x));
  }
};

nn::Sequential create_discriminator() {
  return nn::Sequential(
      // Layer 1
      nn::Conv2d(1, 64, 4, {.stride = 2, .padding = 1, .bias = false}), nn::LeakyReLU(0.2),
      // Layer 2
      nn::Conv2d(64, 128, 4, {.stride = 2, .padding = 1, .bias = false}), nn::BatchNorm2d(128),
      nn::LeakyReLU(0.2),
      // Layer 3
      nn::Conv2d(128, 256, 4, {.stride = 2, .padding = 1, .bias = false}), nn::BatchNorm2d(256),
      nn::LeakyReLU(0.2),
      // Layer 4
      nn::Conv2d(256, 1, 3, {.stride = 1, .padding = 0, .bias = false}), nn::Sigmoid());
}

struct Options {
  std::int64_t epochs = 5, batches = 0, batch_size = 64, log_interval = 10;
  std::uint64_t seed = 1;
  std::string data_root, out = ".";
};

// --name value pairs; anything else is an error with the usage line.
bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h" || i + 1 >= argc) return false;
    const std::string v = argv[++i];
    char* end = nullptr;
    const long long n = std::strtoll(v.c_str(), &end, 10);
    const bool numeric = end && *end == '\0' && !v.empty() && n >= 0;
    if (a == "--data-root") o.data_root = v;
    else if (a == "--out") o.out = v;
    else if (!numeric) return false;
    else if (a == "--epochs") o.epochs = n;
    else if (a == "--batches") o.batches = n;
    else if (a == "--batch-size" && n > 0) o.batch_size = n;
    else if (a == "--log-interval" && n > 0) o.log_interval = n;
    else if (a == "--seed") o.seed = static_cast<std::uint64_t>(n);
    else return false;
  }
  return true;
}

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: dcgan [--epochs N] [--batches N] [--batch-size N] [--seed N] "
                 "[--data-root DIR] [--out DIR] [--log-interval N]\n");
    return 2;
  }
  try {
    std::printf("Training with number of epochs: %lld\n", static_cast<long long>(o.epochs));
    tg::manual_seed(o.seed);
    using tg::data::Split;
    auto dataset = o.data_root.empty()
                       ? std::make_shared<tg::data::FashionMNIST>(Split::Train)
                       : std::make_shared<tg::data::FashionMNIST>(o.data_root, Split::Train);
    tg::data::DataLoader loader(dataset, {.batch_size = o.batch_size, .shuffle = true, .num_workers = 2});
    const auto full_epoch = static_cast<std::int64_t>(loader.size());
    const std::int64_t batches_per_epoch =
        o.batches > 0 ? std::min(o.batches, full_epoch) : full_epoch;

    DCGANGenerator generator;
    nn::Sequential discriminator = create_discriminator();
    tg::optim::Adam generator_optimizer(generator.parameters(), {.lr = 2e-4, .betas = {0.5, 0.5}});
    tg::optim::Adam discriminator_optimizer(discriminator->parameters(),
                                            {.lr = 2e-4, .betas = {0.5, 0.5}});
    const tg::Variable fixed_noise = tg::randn({64, kNoiseSize, 1, 1});

    for (std::int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
      std::int64_t batch_index = 0;
      for (const auto& batch : loader) {
        if (batch_index == batches_per_epoch) break;
        const auto n = batch.data.shape()[0];
        // Normalize(0.5, 0.5): pixels from [0, 1] to [-1, 1], the range of the generator's tanh.
        const tg::Variable real_images = batch.data * 2.0f - 1.0f;

        // Train discriminator with real images.
        discriminator->zero_grad();
        const tg::Variable real_labels = tg::rand({n}) * 0.2f + 0.8f;
        tg::Variable real_output = discriminator->forward(real_images).reshape({static_cast<std::int64_t>(n)});
        tg::Variable d_loss_real = tg::binary_cross_entropy(real_output, real_labels);
        d_loss_real.backward();

        // Train discriminator with fake images.
        const tg::Variable noise = tg::randn({n, kNoiseSize, 1, 1});
        tg::Variable fake_images = generator.forward(noise);
        const tg::Variable fake_labels = tg::zeros({n});
        tg::Variable fake_output =
            discriminator->forward(fake_images.detach()).reshape({static_cast<std::int64_t>(n)});
        tg::Variable d_loss_fake = tg::binary_cross_entropy(fake_output, fake_labels);
        d_loss_fake.backward();

        const float d_loss = d_loss_real.item() + d_loss_fake.item();
        discriminator_optimizer.step();

        // Train generator.
        generator.zero_grad();
        fake_output = discriminator->forward(fake_images).reshape({static_cast<std::int64_t>(n)});
        tg::Variable g_loss = tg::binary_cross_entropy(fake_output, tg::ones({n}));
        g_loss.backward();
        generator_optimizer.step();

        ++batch_index;
        if (batch_index % o.log_interval == 0 || batch_index == batches_per_epoch)
          std::printf("[%2lld/%2lld][%3lld/%3lld] D_loss: %.4f | G_loss: %.4f\n",
                      static_cast<long long>(epoch), static_cast<long long>(o.epochs),
                      static_cast<long long>(batch_index),
                      static_cast<long long>(batches_per_epoch), d_loss, g_loss.item());
      }
      // Sample the generator (in training mode, as the original does) and save the images.
      tg::NoGradGuard no_grad;
      const tg::Variable samples = generator.forward(fixed_noise);
      const std::string path = o.out + "/dcgan-epoch-" + std::to_string(epoch) + ".png";
      tg::data::save_grid(path, (samples.value() + 1.0f) / 2.0f, 8);
      std::printf("saved %s\n", path.c_str());
    }
    std::printf("Training complete!\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dcgan: %s\n", e.what());
    return 1;
  }
}
