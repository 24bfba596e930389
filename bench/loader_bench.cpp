// loader_bench: DataLoader throughput on the real Fashion-MNIST training set (60,000 images),
// with RandomHorizontalFlip + RandomCrop(28, padding 4) + Normalize, batch 128, shuffled.
// Run: ./loader_bench [root]   (default root: Debian's /usr/share/datasets/fashion-mnist)
// Prints, for 0, 1 and 2 worker threads, the images per second over one full epoch: first with
// nothing else to do, then with a simulated 1 ms training step per batch (a busy wait on the
// calling thread), where workers hide the loading behind the step.
#include <chrono>
#include <cstdio>
#include <tapegrad/data/data.hpp>
#include <exception>

namespace T = tg::data::transforms;

namespace {

void busy_wait(double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
  }
}

double epoch_images_per_second(const tg::data::Dataset& train, int workers, double step_seconds) {
  const T::Compose augment(
      {T::RandomHorizontalFlip(), T::RandomCrop(28, 4), T::Normalize({0.2860f}, {0.3530f})});
  tg::data::DataLoader loader(
      train, {.batch_size = 128, .shuffle = true, .num_workers = workers, .seed = 0}, augment);
  const auto start = std::chrono::steady_clock::now();
  std::size_t images = 0;
  double checksum = 0;  // touch every batch so that nothing is optimised away
  for (const auto& batch : loader) {
    images += batch.target.size();
    checksum += batch.data.value().data()[0];
    if (step_seconds > 0) busy_wait(step_seconds);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  num_workers=%d: %6zu images in %.3f s = %8.0f images/s  (checksum %.3f)\n",
              workers, images, seconds, double(images) / seconds, checksum);
  return double(images) / seconds;
}

}  // namespace

int main(int argc, char** argv) try {
  const auto load_start = std::chrono::steady_clock::now();
  const tg::data::FashionMNIST train(argc > 1 ? argv[1] : tg::data::kFashionMnistDefaultRoot,
                                     tg::data::Split::Train);
  std::printf("FashionMNIST train: %zu images, loaded (gunzip + checks) in %.3f s\n", train.size(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count());
  std::printf(
      "DataLoader, batch 128, shuffle, HFlip + RandomCrop(28, 4) + Normalize, one epoch:\n");
  for (int workers : {0, 1, 2}) epoch_images_per_second(train, workers, 0);
  std::printf("The same with a simulated 1 ms training step per batch (469 batches: 0.469 s):\n");
  for (int workers : {0, 1, 2}) epoch_images_per_second(train, workers, 1e-3);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "loader_bench: %s\n", e.what());
  return 1;
}
