// Auxiliary (intermediate) classifiers, as in GoogLeNet: trains a plain 10-layer CNN with two
// auxiliary heads (after its first and second stage; see aux_net.hpp) with
// loss = main + 0.3 * (aux1 + aux2), then the same network without the heads (same seed, so
// the same trunk weights at the start and the same batches), and compares them: test accuracy
// after each epoch, and the weight-gradient norm of every conv layer averaged over each epoch,
// both the main loss's share and the total the optimizer applies (see aux_step).
//
// Run:   build/examples/auxiliary_losses [--epochs 3] [--limit-train N] [--out out/auxiliary_losses]
// The two train in turn, an epoch each. Prints a progress line per tenth of an epoch and the test
// accuracy after each epoch, then the comparison; after every epoch (re)writes
// metrics_with_aux.csv, metrics_without_aux.csv, gradient_profile.csv, test_accuracy.png,
// gradient_norms.png and gradient_profile.png in the output folder.

#include <cstdio>
#include <filesystem>

#include "examples/auxiliary_losses/aux_net.hpp"
#include "examples/common/command_line.hpp"
#include "examples/common/data_choice.hpp"
#include "examples/common/plots.hpp"
#include "examples/common/training.hpp"
#include <tapegrad/optim/optim.hpp>

namespace fs = std::filesystem;
using namespace tg;

struct Config {
  int epochs = 3, batch_size = 64, convs_per_stage = 3, workers = 1, threads = 0;
  double lr = 0.05, momentum = 0.9, aux_weight = 0.3;
  std::uint64_t seed = 0;
  std::size_t limit_train = 0, limit_test = 0;
  std::string data = "fashion-mnist", out = "out/auxiliary_losses";
};

// One epoch of one run; gradient norms per trunk conv, averaged over the epoch's steps.
struct EpochRecord {
  double main_loss = 0, aux_loss = 0, test_loss = 0, test_accuracy = 0;
  std::vector<double> grad_main, grad_total;
};

struct Run {
  std::string name;
  std::vector<EpochRecord> epochs;
};

void add_to(std::vector<double>& sums, const std::vector<double>& values) {
  sums.resize(values.size(), 0.0);
  for (std::size_t i = 0; i < values.size(); ++i) sums[i] += values[i];
}

void divide(std::vector<double>& v, double n) {
  for (auto& x : v) x /= n;
}

EpochRecord train_epoch(const Config& c, examples::AuxNet& model, optim::SGD& opt, data::DataLoader& loader,
                        const std::string& title) {
  std::vector<Variable> watched;
  for (const auto& conv : model.convs()) watched.push_back(conv->weight);
  model.train();
  examples::Progress progress(title, loader.size());
  EpochRecord r;
  std::size_t steps = 0;
  for (const auto& batch : loader) {
    opt.zero_grad();
    const auto s = examples::aux_step(model, batch.data, batch.target, c.aux_weight, watched);
    opt.step();
    r.main_loss += s.main_loss, r.aux_loss += s.aux_loss, ++steps;
    add_to(r.grad_main, s.grad_main), add_to(r.grad_total, s.grad_total);
    progress.update(batch.target.size(), s.main_loss + s.aux_loss,
                    examples::count_correct(s.logits.value(), batch.target));
  }
  progress.finish();
  r.main_loss /= double(steps), r.aux_loss /= double(steps);
  divide(r.grad_main, double(steps)), divide(r.grad_total, double(steps));
  return r;
}

// One of the two networks with its optimizer, loaders and record.
struct Trainer {
  examples::AuxNet model;
  optim::SGD opt;
  data::DataLoader train, test;
  Run run;

  Trainer(const Config& c, const examples::DataChoice& d, bool with_aux)
      : model((manual_seed(c.seed),  // the same trunk weights in both (the heads are drawn after it)
               examples::AuxNetOptions{.convs_per_stage = c.convs_per_stage, .in_channels = d.channels,
                                       .classes = d.classes, .aux_logits = with_aux})),
        opt(model.parameters(), {.lr = c.lr, .momentum = c.momentum}),
        train(d.train, {.batch_size = c.batch_size, .shuffle = true, .num_workers = c.workers, .seed = c.seed},
              examples::train_transform(d, examples::Augment::none)),
        test(d.test, {.batch_size = 500, .num_workers = c.workers}, examples::test_transform(d)),
        run{with_aux ? "with aux losses" : "without aux losses", {}} {
    std::printf("%s: %zu parameters\n", run.name.c_str(), model.num_parameters());
  }

  void epoch(const Config& c, int classes) {
    const int n = int(run.epochs.size()) + 1;
    EpochRecord r = train_epoch(c, model, opt, train, run.name + ", epoch " + std::to_string(n) + "/" + std::to_string(c.epochs));
    model.eval();
    const auto e = examples::evaluate([&](const Variable& x) { return model.forward(x).logits; }, test, classes);
    r.test_loss = e.loss, r.test_accuracy = e.accuracy;
    std::printf("  %s epoch %d: main loss %.4f  test accuracy %.2f%%  conv1 gradient %.3g (main loss's share %.3g)\n",
                run.name.c_str(), n, r.main_loss, 100 * e.accuracy, r.grad_total[0], r.grad_main[0]);
    run.epochs.push_back(std::move(r));
  }
};

void write_csv(const fs::path& path, const Run& run) {
  fs::remove(path);
  const std::size_t layers = run.epochs.front().grad_main.size();
  std::string header = "epoch,train_main_loss,train_aux_loss,test_loss,test_accuracy";
  for (const char* kind : {"main", "total"})
    for (std::size_t l = 0; l < layers; ++l) header += ",grad_" + std::string(kind) + "_conv" + std::to_string(l + 1);
  for (std::size_t e = 0; e < run.epochs.size(); ++e) {
    const auto& r = run.epochs[e];
    char line[256];
    std::snprintf(line, sizeof line, "%zu,%.6f,%.6f,%.6f,%.6f", e + 1, r.main_loss, r.aux_loss, r.test_loss, r.test_accuracy);
    std::string text = line;
    for (const auto* v : {&r.grad_main, &r.grad_total})
      for (double g : *v) std::snprintf(line, sizeof line, ",%.6g", g), text += line;
    examples::append_csv(path, header, text);
  }
}

// The mean over all epochs of each layer's gradient norm (main share or total).
std::vector<double> profile(const Run& run, bool total) {
  std::vector<double> sums;
  for (const auto& r : run.epochs) add_to(sums, total ? r.grad_total : r.grad_main);
  divide(sums, double(run.epochs.size()));
  return sums;
}

void draw(const fs::path& out, const Run& plain, const Run& aux) {
  using examples::Series;
  Series acc_plain{plain.name, {}, {}}, acc_aux{aux.name, {}, {}};
  Series g_plain{plain.name, {}, {}}, g_aux{aux.name + " (total)", {}, {}}, g_aux_main{aux.name + " (main loss's share)", {}, {}};
  for (std::size_t e = 0; e < plain.epochs.size(); ++e) {
    const double x = double(e + 1);
    acc_plain.x.push_back(x), acc_plain.y.push_back(100 * plain.epochs[e].test_accuracy);
    acc_aux.x.push_back(x), acc_aux.y.push_back(100 * aux.epochs[e].test_accuracy);
    g_plain.x.push_back(x), g_plain.y.push_back(plain.epochs[e].grad_total[0]);
    g_aux.x.push_back(x), g_aux.y.push_back(aux.epochs[e].grad_total[0]);
    g_aux_main.x.push_back(x), g_aux_main.y.push_back(aux.epochs[e].grad_main[0]);
  }
  examples::line_plot(out / "test_accuracy.png", {acc_plain, acc_aux},
                      {.title = "test accuracy after each epoch", .x_label = "epoch", .y_label = "accuracy (%)",
                       .legend_at_bottom = true});
  examples::line_plot(out / "gradient_norms.png", {g_plain, g_aux, g_aux_main},
                      {.title = "first conv layer: weight-gradient norm, mean over each epoch", .x_label = "epoch",
                       .y_label = "gradient norm (log scale)", .log_y = true});
  Series p_plain{plain.name, {}, {}}, p_aux{aux.name + " (total)", {}, {}}, p_aux_main{aux.name + " (main loss's share)", {}, {}};
  const auto a = profile(plain, true), b = profile(aux, true), m = profile(aux, false);
  for (std::size_t l = 0; l < a.size(); ++l) {
    const double x = double(l + 1);
    p_plain.x.push_back(x), p_plain.y.push_back(a[l]);
    p_aux.x.push_back(x), p_aux.y.push_back(b[l]);
    p_aux_main.x.push_back(x), p_aux_main.y.push_back(m[l]);
  }
  examples::line_plot(out / "gradient_profile.png", {p_plain, p_aux, p_aux_main},
                      {.title = "weight-gradient norm per conv layer, mean over the run (input side on the left)",
                       .x_label = "conv layer", .y_label = "gradient norm (log scale)", .log_y = true});
  fs::remove(out / "gradient_profile.csv");
  for (std::size_t l = 0; l < a.size(); ++l) {
    char line[128];
    std::snprintf(line, sizeof line, "%zu,%.6g,%.6g,%.6g", l + 1, a[l], b[l], m[l]);
    examples::append_csv(out / "gradient_profile.csv", "conv_layer,without_aux,with_aux_total,with_aux_main", line);
  }
}

void report(const Run& plain, const Run& aux) {
  const auto& p = plain.epochs.back();
  const auto& a = aux.epochs.back();
  std::printf("\nfinal test accuracy: without aux losses %.2f%%, with aux losses %.2f%%\n", 100 * p.test_accuracy,
              100 * a.test_accuracy);
  const auto pp = profile(plain, true), at = profile(aux, true), am = profile(aux, false);
  std::printf("conv1 gradient norm, mean over the run: without aux %.4g; with aux %.4g in total (%.3gx), "
              "%.4g from the main loss (%.3gx)\n", pp[0], at[0], at[0] / pp[0], am[0], am[0] / pp[0]);
}

Config parse(int argc, char** argv) {
  Config c;
  examples::CommandLine app{"A plain CNN with GoogLeNet-style auxiliary classifiers against the same network without them."};
  app.option("--epochs", c.epochs, "epochs per run").show_default().positive();
  app.option("--batch-size", c.batch_size, "images per batch").show_default().positive();
  app.option("--lr", c.lr, "SGD learning rate").show_default();
  app.option("--momentum", c.momentum, "SGD momentum").show_default();
  app.option("--aux-weight", c.aux_weight, "weight of the auxiliary losses").show_default();
  app.option("--convs-per-stage", c.convs_per_stage, "conv layers per stage (3n + 1 in all)")
      .show_default().positive();
  app.option("--workers", c.workers, "data loader threads").show_default();
  app.option("--threads", c.threads, "compute threads (0: all cores)").show_default();
  app.option("--seed", c.seed, "seed of initialisation and shuffling (both runs)").show_default();
  app.option("--data", c.data, "fashion-mnist[:DIR], mnist:DIR, cifar10:DIR or folder:DIR").show_default();
  app.option("--out", c.out, "output folder (metrics, pictures)").show_default();
  app.option("--limit-train", c.limit_train, "use only the first N training images (0: all)");
  app.option("--limit-test", c.limit_test, "use only the first N test images (0: all)");
  if (const auto exit_code = app.parse(argc, argv)) std::exit(*exit_code);
  return c;
}

int main(int argc, char** argv) {
  const Config c = parse(argc, argv);
  try {
    if (c.threads > 0) set_num_threads(c.threads);
    examples::DataChoice d = examples::choose_data(c.data);
    if (c.limit_train) d.train = data::subset(d.train, c.limit_train);
    if (c.limit_test) d.test = data::subset(d.test, c.limit_test);
    std::printf("%s: %zu train / %zu test images, %d threads\n", d.name.c_str(), d.train->size(), d.test->size(),
                get_num_threads());
    Trainer aux(c, d, true), plain(c, d, false);
    const fs::path out = c.out;
    fs::create_directories(out);
    for (int epoch = 1; epoch <= c.epochs; ++epoch) {  // alternating, so that every epoch's files compare both
      aux.epoch(c, d.classes), plain.epoch(c, d.classes);
      write_csv(out / "metrics_with_aux.csv", aux.run);
      write_csv(out / "metrics_without_aux.csv", plain.run);
      draw(out, plain.run, aux.run);
    }
    report(plain.run, aux.run);
    std::printf("metrics and pictures in %s\n", out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "auxiliary_losses: %s\n", e.what());
    return 1;
  }
}
