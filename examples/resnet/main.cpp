// ResNet on Fashion-MNIST (the main job): trains a CIFAR-style ResNet (depth 20 by default) with
// SGD + Nesterov momentum, weight decay, a linear warm-up then a cosine schedule, and padded-crop
// + flip augmentation; after each epoch it evaluates, writes a checkpoint and a metrics.csv line;
// at the end it draws curves, the confusion matrix, the first layer's kernels, feature maps and
// misclassified test images into the output folder, and prints per-class accuracy.
//
// A NaN/Inf loss or gradient stops the run with the epoch and step (--on-nonfinite skip skips
// the batch instead); --detect-anomaly names the op and module that made the first NaN/Inf.
//
// --export model.onnx writes the trained model as ONNX at the end (input "input": [batch, C, H, W]
// pixels in [0, 1], the normalisation inside the graph; output "logits"), for OpenCV's DNN
// module, ONNX Runtime or TensorRT (README, "Deploying").
//
// Run:   build/examples/resnet                  (Fashion-MNIST from Debian's package, 3 epochs)
//        build/examples/resnet --help           (all options: --epochs, --depth, --data, --resume...)
//        mpirun -np 2 -x OMP_NUM_THREADS=1 build/examples/resnet   (data-parallel: --batch-size
//        is the global batch, split over the ranks; rank 0 alone prints and writes files)
// Prints a progress bar per epoch (plain lines when not on a terminal), then test loss/accuracy.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "distributed/distributed.hpp"
#include "examples/common/data_choice.hpp"
#include "examples/common/pictures.hpp"
#include "examples/common/resnet_cifar.hpp"
#include "examples/common/training.hpp"
#include "optim/optim.hpp"
#ifdef TAPEGRAD_HAVE_ONNX
#include "deploy/export.hpp"
#endif

namespace fs = std::filesystem;
using namespace tg;

struct Config {
  int epochs = 3, batch_size = 128, depth = 20, workers = 2, threads = 0;
  double lr = 0.1, momentum = 0.9, weight_decay = 5e-4, label_smoothing = 0.0, warmup_epochs = 0.3;
  bool nesterov = true, augment = true, resume = false, detect_anomaly = false, sync_bn = true;
  std::string on_nonfinite = "stop";
  std::uint64_t seed = 0;
  std::size_t limit_train = 0, limit_test = 0;
  std::string data = "fashion-mnist", out = "out/resnet", export_path;
};

Config parse(int argc, char** argv) {
  Config c;
  CLI::App app{"Train a CIFAR-style ResNet (He et al. 2016) with tapegrad."};
  app.add_option("--epochs", c.epochs, "epochs to train")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch-size", c.batch_size, "images per batch")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lr", c.lr, "peak learning rate (after warm-up)")->capture_default_str();
  app.add_option("--momentum", c.momentum, "SGD momentum")->capture_default_str();
  app.add_flag("!--no-nesterov", c.nesterov, "plain momentum instead of Nesterov's");
  app.add_option("--weight-decay", c.weight_decay, "L2 weight decay")->capture_default_str();
  app.add_option("--warmup-epochs", c.warmup_epochs, "linear warm-up length, in epochs")->capture_default_str();
  app.add_option("--label-smoothing", c.label_smoothing, "cross-entropy label smoothing")->capture_default_str();
  app.add_flag("!--no-augment", c.augment, "train without random crop and flip");
  app.add_option("--depth", c.depth, "20, 32, 44 or 56 (6n + 2)")->capture_default_str();
  app.add_option("--workers", c.workers, "data loader threads")->capture_default_str();
  app.add_option("--threads", c.threads, "compute threads (0: all cores)")->capture_default_str();
  app.add_option("--seed", c.seed, "seed of initialisation, shuffling and augmentation")->capture_default_str();
  app.add_option("--data", c.data, "fashion-mnist[:DIR], mnist:DIR, cifar10:DIR or folder:DIR")->capture_default_str();
  app.add_option("--out", c.out, "output folder (checkpoint, metrics.csv, pictures)")->capture_default_str();
  app.add_flag("--resume", c.resume, "continue from the checkpoint in the output folder");
  app.add_flag("!--no-sync-bn", c.sync_bn, "under mpirun: BatchNorm statistics per rank, not global");
  app.add_option("--limit-train", c.limit_train, "use only the first N training images (0: all)");
  app.add_option("--limit-test", c.limit_test, "use only the first N test images (0: all)");
  app.add_option("--on-nonfinite", c.on_nonfinite,
                 "on a NaN/Inf loss or gradient: stop (with the epoch and step) or skip the batch")
      ->capture_default_str()
      ->check(CLI::IsMember({"stop", "skip"}));
  app.add_option("--export", c.export_path, "at the end, write the model as ONNX to this file "
                 "(input: pixels in [0, 1], normalisation included; output: logits)");
  app.add_flag("--detect-anomaly", c.detect_anomaly,
               "check every op's result and gradient for NaN/Inf and name the first (slow)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  return c;
}

// Each rank evaluated its own test images: sum the counts so that every image counts once.
void reduce_over_ranks(examples::Evaluation& e) {
  const std::size_t k = e.confusion.size();
  Tensor sums = zeros({k * k + 1}).value();
  for (std::size_t t = 0; t < k; ++t)
    for (std::size_t p = 0; p < k; ++p) sums(t * k + p) = float(e.confusion[t][p]);
  sums(k * k) = float(e.loss * double(e.truth.size()));
  distributed::all_reduce(sums);
  double total = 0, correct = 0;
  for (std::size_t t = 0; t < k; ++t)
    for (std::size_t p = 0; p < k; ++p) {
      e.confusion[t][p] = long(sums(t * k + p));
      total += sums(t * k + p);
      correct += t == p ? sums(t * k + p) : 0;
    }
  e.loss = total ? sums(k * k) / total : 0;
  e.accuracy = total ? correct / total : 0;
}

// The trained model as ONNX: takes [batch, C, H, W] pixels in [0, 1] (the test transform's
// normalisation is part of the graph, so a deployment feeds plain pixels) and gives the logits.
void export_onnx(examples::ResNetCifar& model, const examples::DataChoice& d, const fs::path& path) {
#ifdef TAPEGRAD_HAVE_ONNX
  const auto c = std::size_t(d.channels), side = std::size_t(d.image_size);
  Tensor mean = empty({c, 1, 1}), stddev = empty({c, 1, 1});
  std::copy(d.mean.begin(), d.mean.end(), mean.begin());
  std::copy(d.stddev.begin(), d.stddev.end(), stddev.begin());
  const Variable m(mean), s(stddev);
  onnx::export_model(model, [&](const Variable& x) { return model.forward((x - m) / s); },
                     zeros({1, c, side, side}).value(), path, {.dynamic_batch = true});
  std::printf("ONNX model in %s\n", path.c_str());
#else
  (void)model, (void)d, (void)path;
#endif
}

int run(const Config& c) {
#ifndef TAPEGRAD_HAVE_ONNX
  TG_CHECK(c.export_path.empty(), "resnet: --export needs tapegrad built with ONNX support "
           "(scripts/deps.sh installs libonnx-dev and libprotobuf-dev; then configure again)");
#endif
  distributed::init();
  const int world = distributed::world_size(), rank = distributed::rank();
  const bool lead = rank == 0;  // prints and writes files
  TG_CHECK(c.batch_size % world == 0, "resnet: expected --batch-size divisible by the ", world,
           " ranks, got ", c.batch_size);
  if (c.threads > 0) set_num_threads(c.threads);
  std::printf("%s", build_info().c_str());  // what runs where: the first thing to check when slow
  manual_seed(c.seed);
  // Anomaly mode is per thread: the forward and backward passes all run on this one.
  autograd::DetectAnomalyGuard anomaly(c.detect_anomaly);
  examples::NonFiniteCheck nonfinite(examples::parse_on_nonfinite(c.on_nonfinite));
  examples::DataChoice d = examples::choose_data(c.data);
  if (c.limit_train) d.train = data::subset(d.train, c.limit_train);
  if (c.limit_test) d.test = data::subset(d.test, c.limit_test);
  examples::ResNetCifar model(c.depth, d.channels, d.classes);
  if (world > 1 && c.sync_bn) distributed::convert_sync_batchnorm(model);
  distributed::DistributedDataParallel ddp(model);  // rank 0's weights; averaged gradients
  if (lead)
    std::printf("ResNet-%d on %s: %zu train / %zu test images, %zu parameters, %d threads\n", c.depth,
              d.name.c_str(), d.train->size(), d.test->size(), model.num_parameters(), get_num_threads());

  if (lead && world > 1) std::printf("data-parallel over %d ranks, %d images each per step\n", world, c.batch_size / world);
  data::DataLoader train(d.train, {.batch_size = c.batch_size / world, .shuffle = true,
                                   .num_workers = c.workers, .seed = c.seed,
                                   .world_size = world, .rank = rank},
                         examples::train_transform(d, c.augment));
  data::DataLoader test(d.test, {.batch_size = 500, .num_workers = c.workers, .world_size = world,
                                 .rank = rank, .pad_shards = false},
                        examples::test_transform(d));

  optim::SGD opt(model.parameters(), {.lr = c.lr, .momentum = c.momentum,
                                      .weight_decay = c.weight_decay, .nesterov = c.nesterov});
  const std::vector<Variable> opt_parameters = model.parameters();
  const auto steps = std::int64_t(train.size()) * c.epochs;
  const auto warmup = std::clamp<std::int64_t>(std::int64_t(c.warmup_epochs * double(train.size())), 1, steps - 1);
  optim::LinearLR warm(opt, {.start_factor = 0.1, .total_iters = warmup});
  optim::CosineAnnealingLR cosine(opt, steps - warmup);
  optim::SequentialLR schedule(opt, {warm, cosine}, {warmup});

  const fs::path out = c.out, checkpoint = out / "checkpoint.safetensors", metrics = out / "metrics.csv";
  fs::create_directories(out);
  int first_epoch = 0;
  if (c.resume) {
    first_epoch = int(optim::load_checkpoint(checkpoint, model, opt, &schedule));
    train.set_epoch(std::uint64_t(first_epoch));
    if (lead) std::printf("resumed from %s after epoch %d\n", checkpoint.c_str(), first_epoch);
  } else if (lead) {
    fs::remove(metrics);
  }

  const CrossEntropyOptions loss_options{.label_smoothing = float(c.label_smoothing)};
  const auto evaluate = [&] {  // every test image once, over all ranks
    auto e = examples::evaluate([&](const Variable& x) { return model.forward(x); }, test, d.classes);
    reduce_over_ranks(e);
    return e;
  };
  for (int epoch = first_epoch; epoch < c.epochs; ++epoch) {
    model.train();
    // Rank 0's progress stands for all (its train loss and accuracy are its share's).
    std::optional<examples::Progress> progress;
    if (lead) progress.emplace("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(c.epochs), train.size());
    std::size_t step = 0;
    for (const auto& batch : train) {
      ++step;
      opt.zero_grad();
      Variable logits, loss;
      try {
        nn::ModuleScope scope(model);  // anomaly errors name the path from "ResNetCifar"
        logits = model.forward(batch.images);
        loss = cross_entropy(logits, batch.labels, loss_options);
        loss.backward();
      } catch (const Error& e) {
        throw Error("epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(step) + ": " +
                    e.what());
      }
      const bool usable = nonfinite.usable(loss.item(), opt_parameters, epoch + 1, step);
      if (usable) opt.step();
      schedule.step();  // a skipped batch still counts, so the schedule keeps its length
      if (usable && progress)
        progress->update(batch.labels.size(), loss.item(), examples::count_correct(logits.value(), batch.labels));
    }
    model.eval();
    const auto e = evaluate();
    if (lead) {
      progress->finish();
      std::printf("  test loss %.4f  test accuracy %.2f%%  (%.0f train img/s)\n", e.loss, 100 * e.accuracy,
                  world * progress->images_per_second());
      optim::save_checkpoint(checkpoint, model, opt, &schedule, epoch + 1);
      char line[160];
      std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.1f", epoch + 1, progress->mean_loss(),
                    progress->accuracy(), e.loss, e.accuracy, world * progress->images_per_second());
      examples::append_csv(metrics, "epoch,train_loss,train_accuracy,test_loss,test_accuracy,images_per_s", line);
    }
    distributed::barrier();  // the checkpoint is complete before any rank may resume from it
  }

  model.eval();
  const auto final_eval = evaluate();
  if (!lead) return 0;
  std::printf("\nfinal test accuracy %.2f%%\n%s", 100 * final_eval.accuracy,
              examples::per_class_table(final_eval.confusion, d.class_names).c_str());
  // The pictures want every test image's prediction: rank 0 evaluates the whole set alone.
  data::DataLoader whole(d.test, {.batch_size = 500, .num_workers = c.workers}, examples::test_transform(d));
  examples::draw_pictures(out, model, d, world == 1 ? final_eval
      : examples::evaluate([&](const Variable& x) { return model.forward(x); }, whole, d.classes));
  std::printf("pictures and metrics in %s\n", out.c_str());
  if (!c.export_path.empty()) export_onnx(model, d, c.export_path);
  return 0;
}

int main(int argc, char** argv) {
  const Config config = parse(argc, argv);
  try {
    return run(config);
  } catch (const std::exception& e) {
    if (distributed::world_size() > 1) throw;  // ends every rank (MPI_Abort) with the message
    std::fprintf(stderr, "resnet: %s\n", e.what());
    return 1;
  }
}
