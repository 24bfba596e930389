// The full trainer, ResNet on Fashion-MNIST (the main job, what scripts/train.sh runs): trains
// a CIFAR-style ResNet (depth 14 by default: in 3 epochs as accurate as ResNet-20 and about 1.4x
// faster; --arch resnet18 for torchvision's, --arch poolnet for airbench's network without
// shortcuts) with SGD + Nesterov momentum, weight decay, a linear warm-up then a cosine schedule,
// no augmentation by default (in 3 epochs crops cost more accuracy than they regularise;
// --augment crop-flip for long runs); after each epoch it evaluates, writes a checkpoint and a
// metrics.csv line; at the end it draws curves, the confusion matrix, the first layer's kernels,
// feature maps and misclassified test images into the output folder, and prints per-class
// accuracy.
//
// Better models in the same time (README, "The long recipe"): --ema DECAY keeps an exponential
// moving average of the weights, evaluated beside them each epoch and used as the final model;
// --mixup/--cutmix ALPHA mix batches (soft targets); --random-erasing P; --tta averages each
// test image's logits with its mirror image's in the final evaluation, --tta-shift N also with
// its copies shifted by up to N pixels; --width K widens the network; --recipe long sets a
// documented combination (explicit options override it).
//
// A NaN/Inf loss or gradient stops the run with the epoch and step (--on-nonfinite skip skips
// the batch instead); --detect-anomaly names the op and module that made the first NaN/Inf.
//
// --export model.onnx writes the trained model as ONNX at the end (input "input": [batch, C, H, W]
// pixels in [0, 1], the normalisation inside the graph; output "logits"), for OpenCV's DNN
// module, ONNX Runtime or TensorRT (README, "Deploying").
//
// Run:   build/examples/trainer                 (Fashion-MNIST from Debian's package, 3 epochs)
//        build/examples/trainer --help          (all options: --epochs, --depth, --data, --resume...)
//        mpirun -np 2 -x OMP_NUM_THREADS=1 build/examples/trainer   (data-parallel: --batch-size
//        is the global batch, split over the ranks; rank 0 alone prints and writes files)
// The training loop alone, in one file to copy, is examples/resnet/main.cpp.
// Prints a progress bar per epoch (plain lines when not on a terminal), then test loss/accuracy.

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>

#include <unistd.h>

#include <tapegrad/distributed/distributed.hpp>
#include "examples/common/architecture.hpp"
#include "examples/common/batch_mixing.hpp"
#include "examples/common/command_line.hpp"
#include "examples/common/data_choice.hpp"
#include "examples/common/distributed_evaluation.hpp"
#include "examples/common/ema.hpp"
#include "examples/common/pictures.hpp"
#include "examples/common/recipe.hpp"
#include "examples/common/time_budget.hpp"
#include "examples/common/train_epoch.hpp"
#include "examples/common/training.hpp"
#include "examples/common/tta.hpp"
#include <tapegrad/nn/safetensors.hpp>
#include <tapegrad/optim/optim.hpp>
#ifdef TAPEGRAD_HAVE_ONNX
#include <tapegrad/deploy/export.hpp>
#endif

namespace fs = std::filesystem;
using namespace tg;

using Forward = std::function<Variable(const Variable&)>;

// --threads above this is a typo, not a machine: OpenMP would start them all.
constexpr int kMaxThreads = 1024;

struct Config {
  int epochs = 3, batch_size = 128, depth = 14, width = 1, workers = 0, threads = 0, stop_after = 0, tta_shift = 0;
  double lr = 0.1, momentum = 0.9, weight_decay = 5e-4, label_smoothing = 0.0, warmup_epochs = 0.3;
  double ema = 0, mixup = 0, cutmix = 0, random_erasing = 0, time_budget = 0;
  bool nesterov = true, resume = false, detect_anomaly = false, sync_bn = true;
  bool tta = false, depth_given = false;
  std::string arch, recipe = "default", on_nonfinite = "stop", augment = "none";
  std::uint64_t seed = 0;
  std::size_t limit_train = 0, limit_test = 0;
  std::string data = "fashion-mnist", out = "out/resnet", export_path;
};

Config parse(int argc, char** argv) {
  Config c;
  examples::CommandLine app{"Train a CIFAR-style ResNet (He et al. 2016) with tapegrad."};
  // A recipe's options come first on the command line and the last value wins: yours override it.
  app.last_value_wins();
  app.option("--epochs", c.epochs, "epochs to train").show_default().positive();
  app.option("--time-budget", c.time_budget, "minutes for the whole run: train as many epochs as fit "
             "(at most --epochs), planned from timed batches before training and corrected after each "
             "epoch from the epochs' real times (0: off)")
      .show_default().nonnegative();
  app.option("--batch-size", c.batch_size, "images per batch").show_default().positive();
  app.option("--lr", c.lr, "peak learning rate (after warm-up)").show_default();
  app.option("--momentum", c.momentum, "SGD momentum").show_default();
  app.flag("!--no-nesterov", c.nesterov, "plain momentum instead of Nesterov's");
  app.option("--weight-decay", c.weight_decay, "L2 weight decay").show_default();
  app.option("--warmup-epochs", c.warmup_epochs, "linear warm-up length, in epochs").show_default();
  app.option("--label-smoothing", c.label_smoothing, "cross-entropy label smoothing").show_default();
  app.option("--augment", c.augment, "augmentation of the training images (crop-flip: a crop of "
             "the image padded by 1/8 of its side, then a flip)").show_default()
      .one_of(examples::augment_names());
  app.flag("--no-augment", [&c] { c.augment = "none"; }, "the same as --augment none");
  app.option("--depth", c.depth, "6n + 2: 14, 20, 32, 44, 56...").show_default();
  app.option("--arch", c.arch, "resnet<depth> (the CIFAR ResNet: resnet20, resnet32...; the default "
             "follows --depth), resnet18 (torchvision's, from the model zoo) or poolnet (airbench's "
             "network: three groups of two convolutions and a max-pool, no shortcuts)");
  app.option("--width", c.width, "channels 16k, 32k, 64k (CIFAR ResNet) or 64k, 128k, 256k (poolnet) "
             "for width k").show_default();
  app.option("--ema", c.ema, "decay of an average of the weights updated every step, evaluated "
             "beside them and used as the final model (0: off; e.g. 0.999)").show_default();
  app.option("--mixup", c.mixup, "MixUp's alpha (0: off)").show_default();
  app.option("--cutmix", c.cutmix, "CutMix's alpha (0: off; with --mixup, one of the two per batch)")
      .show_default();
  app.option("--random-erasing", c.random_erasing, "probability of erasing a random patch of a "
             "training image (0: off)").show_default();
  app.flag("--tta,!--no-tta", c.tta, "final evaluation: mean of the logits of each test image and "
           "its mirror image");
  app.option("--tta-shift", c.tta_shift, "final evaluation: also average over the test image shifted "
             "by up to this many pixels each way ((2N + 1)^2 positions, each mirrored too with --tta; "
             "0: off)").show_default().nonnegative();
  std::vector<std::string> names;
  for (const auto& r : examples::recipes()) names.push_back(r.name);
  app.option("--recipe", c.recipe, "default, or long (" + examples::recipe_arguments_text("long") +
             "); options given explicitly override the recipe's")
      .show_default()
      .one_of(names);
  // 0, as PyTorch's DataLoader: on 2 cores, loader threads took time from the compute threads
  // (default run: 710-799 images/s with 2 workers, 745-810 with none; with crop-flip no loss).
  app.option("--workers", c.workers, "data loader threads (0: batches made by the training thread)")
      .show_default();
  app.option("--threads", c.threads, "compute threads (0: all cores)").show_default().in_range(0, kMaxThreads);
  app.option("--seed", c.seed, "seed of initialisation, shuffling and augmentation").show_default();
  app.option("--data", c.data, "fashion-mnist[:DIR], mnist:DIR, cifar10:DIR or folder:DIR").show_default();
  app.option("--out", c.out, "output folder (checkpoint, metrics.csv, pictures)").show_default();
  app.flag("--resume", c.resume, "continue from the checkpoint in the output folder");
  app.option("--stop-after", c.stop_after, "stop after this many epochs of this run, as if "
             "interrupted (the schedule still spans --epochs; --resume continues; 0: off)")
      .nonnegative();
  app.flag("!--no-sync-bn", c.sync_bn, "under mpirun: BatchNorm statistics per rank, not global");
  app.option("--limit-train", c.limit_train, "use only the first N training images (0: all)");
  app.option("--limit-test", c.limit_test, "use only the first N test images (0: all)");
  app.option("--on-nonfinite", c.on_nonfinite,
             "on a NaN/Inf loss or gradient: stop (with the epoch and step) or skip the batch")
      .show_default()
      .one_of({"stop", "skip"});
  app.option("--export", c.export_path, "at the end, write the model as ONNX to this file "
             "(input: pixels in [0, 1], normalisation included; output: logits)");
  app.flag("--detect-anomaly", c.detect_anomaly,
           "check every op's result and gradient for NaN/Inf and name the first (slow)");
  const std::vector<std::string> args = examples::expand_recipe(argc, argv);
  std::vector<const char*> pointers;
  for (const auto& a : args) pointers.push_back(a.c_str());
  if (const auto exit_code = app.parse(int(pointers.size()), pointers.data())) std::exit(*exit_code);
  // A recipe's --arch gives way to yours and to your --depth (--recipe long --depth 20 trains
  // ResNet-20); only your own --depth and --arch together conflict.
  c.depth_given = examples::option_given(argc, argv, "--depth");
  if (c.arch.empty() || (c.depth_given && !examples::option_given(argc, argv, "--arch")))
    c.arch = "resnet" + std::to_string(c.depth);
  return c;
}

// --tta and --tta-shift: the final evaluation's views; a shift uncovers black pixels, normalised,
// as the training crops' padding does.
examples::TtaViews tta_views(const Config& c, const examples::DataChoice& d) {
  examples::TtaViews views{.flip = c.tta, .shift = c.tta_shift, .fill = {}};
  for (std::size_t channel = 0; channel < d.mean.size(); ++channel)
    views.fill.push_back(-d.mean[channel] / d.stddev[channel]);
  return views;
}

std::string tta_text(const examples::TtaViews& views) {
  if (views.shift == 0) return views.flip ? ", flip test-time augmentation" : "";
  return ", test-time augmentation over " + std::to_string(examples::view_count(views)) + " views: shifts of up to " +
         std::to_string(views.shift) + " px" + (views.flip ? ", each also mirrored" : "");
}

// The trained model as ONNX: takes [batch, C, H, W] pixels in [0, 1] (the test transform's
// normalisation is part of the graph, so a deployment feeds plain pixels) and gives the logits.
void export_onnx(nn::Module& model, const Forward& forward, const examples::DataChoice& d, const fs::path& path) {
#ifdef TAPEGRAD_HAVE_ONNX
  const auto c = std::size_t(d.channels), side = std::size_t(d.image_size);
  Tensor mean = empty_tensor({c, 1, 1}), stddev = empty_tensor({c, 1, 1});
  std::copy(d.mean.begin(), d.mean.end(), mean.begin());
  std::copy(d.stddev.begin(), d.stddev.end(), stddev.begin());
  const Variable m(mean), s(stddev);
  onnx::export_model(model, [&](const Variable& x) { return forward((x - m) / s); },
                     zeros({1, c, side, side}).value(), path, {.dynamic_batch = true});
  std::printf("ONNX model in %s\n", path.c_str());
#else
  (void)model, (void)forward, (void)d, (void)path;
#endif
}

// --export: its folder is made now, as --out's is (`--export out/resnet20.onnx` on a fresh
// clone), and must take a file, so that a bad path fails before the training rather than after.
void prepare_export_path(const fs::path& path) {
  if (path.empty()) return;
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code error;
  fs::create_directories(folder, error);
  TG_CHECK(!error, "--export: cannot make the folder ", folder.string(), " for ", path.string(), ": ",
           error.message());
  TG_CHECK(!fs::is_directory(path, error), "--export: expected a file name, got the folder ", path.string());
  TG_CHECK(::access(folder.c_str(), W_OK) == 0, "--export: cannot write ", path.string(), ": folder ", folder.string(),
           ": ", std::strerror(errno));
}

using examples::Clock;
using examples::seconds_since;

// Every rank trains rank 0's plan: each rank's own clock would plan its own.
int rank0s_plan(int epochs) {
  Tensor plan = full({1}, float(epochs)).value();
  distributed::broadcast(plan);
  return int(plan(0));
}

// --time-budget: the epochs that fit in what is left of the budget, planned from timed batches
// (rank 0's plan for every rank); a resumed run keeps the plan its checkpoint recorded, as the
// schedule was built for it.
int planned_epochs(const Config& c, const examples::TtaViews& final_views, nn::Module& model, const Forward& forward,
                   data::DataLoader& train, data::DataLoader& test, const fs::path& checkpoint, Clock::time_point started,
                   bool lead) {
  if (c.time_budget <= 0) return c.epochs;
  if (c.resume) {
    const auto metadata = nn::read_safetensors(checkpoint).metadata;
    const auto planned = metadata.find("extra.epochs");
    TG_CHECK(planned != metadata.end(), "trainer --resume --time-budget: expected the planned epochs in ",
             checkpoint.string(), ", found none (a run without --time-budget: resume it with its --epochs)");
    const std::string& text = planned->second;
    int epochs = 0;
    const auto parsed = std::from_chars(text.data(), text.data() + text.size(), epochs);
    TG_CHECK(!text.empty() && parsed.ec == std::errc() && parsed.ptr == text.data() + text.size() && epochs >= 1,
             "trainer --resume --time-budget: expected the planned epochs in ", checkpoint.string(),
             " to be a whole number >= 1, got '", text.substr(0, 40), "' (not this program's checkpoint, or "
             "edited: resume it with --epochs N instead of --time-budget)");
    return epochs;
  }
  const examples::EpochCost cost = examples::measure_epoch_cost(model, forward, train, test);
  const double evaluations_per_epoch = c.ema > 0 ? 2 : 1, final_evaluations = examples::view_count(final_views);
  const int epochs = rank0s_plan(examples::epochs_within(60 * c.time_budget - seconds_since(started), cost,
                                                         evaluations_per_epoch, final_evaluations, c.epochs));
  if (lead)
    std::printf("time budget %g min: an epoch trains in about %.0f s and evaluates in %.0f s (x%g), so %d "
                "epoch%s (--epochs %d at most), about %.1f min\n", c.time_budget, cost.train_seconds,
                cost.evaluate_seconds, evaluations_per_epoch, epochs, epochs == 1 ? "" : "s", c.epochs,
                (epochs * (cost.train_seconds + evaluations_per_epoch * cost.evaluate_seconds) +
                 final_evaluations * cost.evaluate_seconds) / 60);
  return epochs;
}

// --time-budget after `done` epochs of `epochs`: the plan again, at the pace the epochs of this
// run took (rank 0's for every rank), and the cosine's length to match. It may shrink to done + 1,
// or to the warm-up's end, whichever is later: the schedule must still reach zero.
int replanned_epochs(const Config& c, int epochs, int done, double seconds_per_epoch, double final_seconds,
                     Clock::time_point started, std::int64_t steps_per_epoch, std::int64_t warmup,
                     optim::CosineAnnealingLR& cosine, bool lead) {
  const int least = std::max(done + 1, int(warmup / steps_per_epoch) + 1);
  const int replanned = rank0s_plan(examples::epochs_after(60 * c.time_budget, seconds_since(started), done,
                                                          seconds_per_epoch, final_seconds, least, c.epochs));
  if (replanned == epochs) return epochs;
  cosine.set_T_max(steps_per_epoch * replanned - warmup);
  if (lead)
    std::printf("time budget: epochs take %.0f s, %.1f of %g min left, so %d epochs in all, not %d\n",
                seconds_per_epoch, c.time_budget - seconds_since(started) / 60, c.time_budget, replanned, epochs);
  return replanned;
}

int run(const Config& c) {
  const Clock::time_point started = Clock::now();  // --time-budget counts the whole run
#ifndef TAPEGRAD_HAVE_ONNX
  TG_CHECK(c.export_path.empty(), "trainer: --export needs tapegrad built with ONNX support "
           "(scripts/deps.sh installs libonnx-dev and libprotobuf-dev; then configure again)");
#endif
  TG_CHECK(!c.depth_given || examples::cifar_depth(c.arch) == c.depth, "expected --arch ", c.arch,
           " or --depth ", c.depth, ", got both (--depth N is short for --arch resnetN)");
  TG_CHECK(c.ema >= 0 && c.ema < 1, "--ema: expected a decay in [0, 1) (0: off; e.g. 0.999), got ", c.ema);
  // NaN fails both comparisons; a longer warm-up than the run would never reach the cosine.
  TG_CHECK(c.warmup_epochs >= 0 && c.warmup_epochs <= c.epochs, "--warmup-epochs: expected a number of epochs in "
           "[0, ", c.epochs, "] (at most --epochs), got ", c.warmup_epochs);
  distributed::init();
  const int world = distributed::world_size(), rank = distributed::rank();
  const bool lead = rank == 0;  // prints and writes files
  TG_CHECK(c.batch_size % world == 0, "trainer: expected --batch-size divisible by the ", world,
           " ranks, got ", c.batch_size);
  if (lead) prepare_export_path(c.export_path);  // before hours of training, not after
  if (c.threads > 0) set_num_threads(c.threads);
  // What runs where: the first thing to check when slow (once per job, not once per rank).
  if (lead) std::printf("%s", build_info().c_str());
  if (lead && c.recipe != "default")
    std::printf("recipe %s: %s (options given explicitly override it)\n", c.recipe.c_str(),
                examples::recipe_arguments_text(c.recipe).c_str());
  manual_seed(c.seed);
  // Anomaly mode is per thread: the forward and backward passes all run on this one.
  autograd::DetectAnomalyGuard anomaly(c.detect_anomaly);
  examples::NonFiniteCheck nonfinite(examples::parse_on_nonfinite(c.on_nonfinite));
  examples::DataChoice d = examples::choose_data(c.data);
  TG_CHECK(c.tta_shift < d.image_size, "--tta-shift: expected fewer pixels than the image's side (",
           d.image_size, "), got ", c.tta_shift);
  if (c.limit_train) d.train = data::subset(d.train, c.limit_train);
  if (c.limit_test) d.test = data::subset(d.test, c.limit_test);
  const examples::Network net = examples::make_network(c.arch, c.width, d.channels, d.classes);
  nn::Module& model = *net.module;
  if (world > 1 && c.sync_bn) distributed::convert_sync_batchnorm(model);
  distributed::DistributedDataParallel ddp(model);  // rank 0's weights; averaged gradients
  if (lead)
    std::printf("%s on %s: %zu train / %zu test images, %zu parameters, %d threads\n", net.name.c_str(),
                d.name.c_str(), d.train->size(), d.test->size(), model.num_parameters(), get_num_threads());

  if (lead && world > 1) std::printf("data-parallel over %d ranks, %d images each per step\n", world, c.batch_size / world);
  data::DataLoader train(d.train, {.batch_size = c.batch_size / world, .shuffle = true,
                                   .num_workers = c.workers, .seed = c.seed,
                                   .world_size = world, .rank = rank},
                         examples::train_transform(d, examples::parse_augment(c.augment), c.random_erasing));
  data::DataLoader test(d.test, {.batch_size = 500, .num_workers = c.workers, .world_size = world,
                                 .rank = rank, .pad_shards = false},
                        examples::test_transform(d));

  const fs::path out = c.out, checkpoint = out / "checkpoint.safetensors", metrics = out / "metrics.csv";
  const examples::TtaViews final_views = tta_views(c, d);
  int epochs = planned_epochs(c, final_views, model, net.forward, train, test, checkpoint, started, lead);
  optim::SGD opt(model.parameters(), {.lr = c.lr, .momentum = c.momentum,
                                      .weight_decay = c.weight_decay, .nesterov = c.nesterov});
  const auto steps = std::int64_t(train.size()) * epochs;
  // At least one step of each part; a run of one step is its warm-up's first step alone.
  const auto warmup =
      steps > 1 ? std::clamp<std::int64_t>(std::int64_t(c.warmup_epochs * double(train.size())), 1, steps - 1) : 1;
  optim::LinearLR warm(opt, {.start_factor = 0.1, .total_iters = warmup});
  optim::CosineAnnealingLR cosine(opt, std::max<std::int64_t>(steps - warmup, 1));
  optim::SequentialLR schedule(opt, {warm, cosine}, {warmup});
  // BatchNorm's running statistics are averaged too (use_buffers), as torchvision's EMA recipe does.
  std::optional<examples::Ema> ema;
  if (c.ema > 0) ema.emplace(model, optim::swa_utils::ema(c.ema), true);
  const auto mixing = examples::batch_mixing(c.mixup, c.cutmix, d.classes);

  fs::create_directories(out);
  int first_epoch = 0;
  if (c.resume) {
    first_epoch = int(optim::load_checkpoint(checkpoint, model, opt, &schedule));
    if (ema) examples::load_ema(examples::ema_path(checkpoint), *ema, first_epoch);
    train.set_epoch(std::uint64_t(first_epoch));
    if (lead) std::printf("resumed from %s after epoch %d\n", checkpoint.c_str(), first_epoch);
  } else if (lead) {
    fs::remove(metrics);
  }

  const auto evaluate = [&](const Forward& f) {  // every test image once, over all ranks
    auto e = examples::evaluate(f, test, d.classes);
    examples::reduce_over_ranks(e);
    return e;
  };
  const auto evaluate_ema = [&](const Forward& f) {  // the averaged weights swapped in meanwhile
    return ema->with_averaged([&](nn::Module&) { return evaluate(f); });
  };
  examples::EpochTrainer trainer{model, net.forward, opt, schedule, nonfinite, ema, mixing,
                  {.label_smoothing = float(c.label_smoothing)}};
  const int stop_at = c.stop_after > 0 ? first_epoch + c.stop_after : std::numeric_limits<int>::max();
  const bool replanning = c.time_budget > 0 && !c.resume;  // the budget's clock does not span a restart
  double epochs_seconds = 0, evaluation_seconds = 0;
  int done = first_epoch;
  for (; done < std::min(epochs, stop_at); ++done) {
    const int epoch = done;
    const Clock::time_point epoch_start = Clock::now();
    // Rank 0's progress stands for all (its train loss and accuracy are its share's).
    std::optional<examples::Progress> progress;
    if (lead) progress.emplace("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs), train.size());
    trainer.epoch(train, epoch, progress);
    model.eval();
    const Clock::time_point evaluation_start = Clock::now();
    const auto e = evaluate(net.forward);
    evaluation_seconds = seconds_since(evaluation_start);
    const auto e_ema = ema ? std::optional(evaluate_ema(net.forward)) : std::nullopt;
    epochs_seconds += seconds_since(epoch_start);
    double rate = 0;  // training images per second
    if (lead) {
      progress->finish();
      rate = world * progress->images_per_second();
      std::printf("  test loss %.4f  test accuracy %.2f%%", e.loss, 100 * e.accuracy);
      if (e_ema) std::printf("  EMA weights: test loss %.4f  test accuracy %.2f%%", e_ema->loss, 100 * e_ema->accuracy);
      std::printf("  (%.0f train img/s)\n", rate);
    }
    // Before the checkpoint, which records the plan its schedule is built for.
    if (replanning && epoch + 1 < epochs)
      epochs = replanned_epochs(c, epochs, epoch + 1, epochs_seconds / (epoch + 1 - first_epoch),
                                examples::view_count(final_views) * evaluation_seconds, started,
                                std::int64_t(train.size()), warmup, cosine, lead);
    if (lead) {
      if (ema) examples::save_ema(examples::ema_path(checkpoint), *ema, epoch + 1);
      optim::save_checkpoint(checkpoint, model, opt, &schedule, epoch + 1, {{"epochs", std::to_string(epochs)}});
      char line[200];
      int n = std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.1f", epoch + 1, progress->mean_loss(),
                            progress->accuracy(), e.loss, e.accuracy, rate);
      if (e_ema) std::snprintf(line + n, sizeof line - std::size_t(n), ",%.6f,%.6f", e_ema->loss, e_ema->accuracy);
      examples::append_csv(metrics, std::string("epoch,train_loss,train_accuracy,test_loss,test_accuracy,images_per_s") +
                                        (ema ? ",ema_test_loss,ema_test_accuracy" : ""), line);
    }
    distributed::barrier();  // the checkpoint is complete before any rank may resume from it
  }
  if (done < epochs) {
    if (lead) std::printf("stopped after epoch %d of %d (--stop-after); --resume continues\n", done, epochs);
    return 0;
  }

  // The final model: the averaged weights with --ema; --tta and --tta-shift average over views.
  model.eval();
  const Forward final_forward =
      examples::view_count(final_views) > 1 ? examples::with_tta(net.forward, final_views) : net.forward;
  const auto final_eval = ema ? evaluate_ema(final_forward) : evaluate(final_forward);
  if (!lead) return 0;
  std::printf("\nfinal test accuracy %.2f%%  test loss %.4f  (%s weights%s)\n%s", 100 * final_eval.accuracy, final_eval.loss,
              ema ? "EMA" : "trained", tta_text(final_views).c_str(),
              examples::per_class_table(final_eval.confusion, d.class_names).c_str());
  const auto draw_and_export = [&](nn::Module&) {
    // The pictures want every test image's prediction: rank 0 evaluates the whole set alone.
    data::DataLoader whole(d.test, {.batch_size = 500, .num_workers = c.workers}, examples::test_transform(d));
    examples::draw_pictures(out, model, d, world == 1 ? final_eval
        : examples::evaluate(final_forward, whole, d.classes));
    std::printf("pictures and metrics in %s\n", out.c_str());
    if (!c.export_path.empty()) export_onnx(model, net.forward, d, c.export_path);
  };
  if (ema) ema->with_averaged(draw_and_export); else draw_and_export(model);
  return 0;
}

int main(int argc, char** argv) {
  const Config config = parse(argc, argv);
  try {
    return run(config);
  } catch (const std::exception& e) {
    if (distributed::world_size() > 1) throw;  // ends every rank (MPI_Abort) with the message
    std::fprintf(stderr, "trainer: %s\n", e.what());
    return 1;
  }
}
