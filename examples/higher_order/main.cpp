// Gradients of gradients on Fashion-MNIST, with tg::autograd::grad(..., create_graph = true):
//
// 1. Double backpropagation (Drucker & LeCun 1992): the same small CNN trained from the same
//    initialisation twice, plainly and with the input-gradient penalty
//    loss + lambda * mean_i |d loss_i / d x_i|^2, then tested on clean images and under
//    Gaussian input noise.
// 2. The sharpness of the plain network's training loss: the top eigenvalue of its Hessian by
//    power iteration on Hessian-vector products, after training at --lr and again after
//    continuing at a tenth of it (the sharpness rises when the rate decays).
//
// Run:   build/examples/higher_order [--steps 600] [--lambda 0.1] [--data-root DIR] [--out DIR]
// Prints both networks' accuracy per noise level and the eigenvalue estimates, and writes
// noise_robustness.png and sharpness.png (PLplot) to --out (default out/higher_order).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "examples/common/plots.hpp"

namespace {

struct Net : tg::nn::Module {
  tg::nn::Conv2d conv1{1, 16, 3, {.stride = 2, .padding = 1}};  // 28 -> 14
  tg::nn::Conv2d conv2{16, 32, 3, {.stride = 2, .padding = 1}};  // 14 -> 7
  tg::nn::Linear fc{32 * 7 * 7, 10};
  Net() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc", fc);
  }
  tg::Variable forward(const tg::Variable& x) {
    return fc(tg::flatten(tg::relu(conv2(tg::relu(conv1(x))))));
  }
};

struct Options {
  int steps = 600, batch = 64, power_iterations = 20, hessian_batch = 512;
  double lr = 0.1, lambda = 0.1;
  std::string data_root, out = "out/higher_order";
};

// The training loss, and with double backpropagation its input-gradient penalty: the loss is a
// sum over images so that d loss / d x holds each image's own gradient.
tg::Variable training_loss(Net& net, const tg::data::Batch& batch, double lambda) {
  if (lambda == 0) return tg::cross_entropy(net.forward(batch.data), batch.target);
  tg::Variable x = batch.data.detach();
  x.set_requires_grad(true);
  const auto n = float(x.shape()[0]);
  tg::Variable total = tg::cross_entropy(net.forward(x), batch.target, {.reduction = tg::Reduction::Sum});
  tg::Variable gx = tg::autograd::grad({total}, {x}, {}, {}, /*create_graph=*/true)[0];
  return total * (1.0f / n) + tg::sum(gx * gx) * float(lambda / n);
}

void train(Net& net, tg::data::DataLoader& loader, int steps, double lr, double lambda, const char* name) {
  tg::optim::SGD opt(net.parameters(), {.lr = lr, .momentum = 0.9});
  int step = 0;
  while (step < steps)
    for (const auto& batch : loader) {
      opt.zero_grad();
      tg::Variable loss = training_loss(net, batch, lambda);
      loss.backward();
      opt.step();
      if (++step % 100 == 0) std::printf("%s: step %d, loss %.4f\n", name, step, loss.item());
      if (step == steps) break;
    }
}

// Test accuracy with N(0, sigma^2) noise added to every pixel.
double accuracy(Net& net, const tg::data::Dataset& test, double sigma) {
  tg::NoGradGuard no_grad;
  tg::Generator gen(7);
  tg::data::DataLoader loader(std::shared_ptr<const tg::data::Dataset>(&test, [](auto*) {}), {.batch_size = 500}, {});
  std::size_t correct = 0, total = 0;
  for (const auto& batch : loader) {
    tg::Tensor x = batch.data.value();
    for (float& v : x) v += float(sigma) * gen.normal();
    const tg::Labels predicted = tg::argmax(net.forward(tg::Variable(x)).value(), 1);
    for (std::size_t i = 0; i < predicted.size(); ++i) correct += predicted(i) == batch.target(i);
    total += predicted.size();
  }
  return 100.0 * double(correct) / double(total);
}

double dot(const std::vector<tg::Variable>& a, const std::vector<tg::Variable>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size(); ++k) s += tg::sum(a[k] * b[k]).item();
  return s;
}

// The top Hessian eigenvalue of the loss on one batch, by power iteration: v <- Hv / |Hv|,
// each Hv the gradient of <grad loss, v> (the gradient computed once, with create_graph).
std::vector<double> top_eigenvalue(Net& net, const tg::data::Batch& batch, int iterations) {
  const std::vector<tg::Variable> params = net.parameters();
  tg::Variable loss = tg::cross_entropy(net.forward(batch.data), batch.target);
  const std::vector<tg::Variable> g = tg::autograd::grad({loss}, params, {}, {}, true);
  tg::Generator gen(3);
  std::vector<tg::Variable> v;
  for (const auto& p : params) v.emplace_back(tg::randn_tensor(p.shape(), gen));
  std::vector<double> estimates;
  for (int i = 0; i < iterations; ++i) {
    const double norm = std::sqrt(dot(v, v));
    for (auto& vk : v) vk = vk * float(1.0 / norm);
    tg::Variable gv = tg::sum(g[0] * v[0]);
    for (std::size_t k = 1; k < g.size(); ++k) gv = gv + tg::sum(g[k] * v[k]);
    std::vector<tg::Variable> hv = tg::autograd::grad({gv}, params, {}, /*retain_graph=*/true);
    estimates.push_back(dot(v, hv));  // Rayleigh quotient, |v| = 1
    v = hv;
  }
  return estimates;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") {
      std::printf("usage: higher_order [--steps N] [--batch N] [--lr X] [--lambda X] "
                  "[--power-iterations N] [--hessian-batch N] [--data-root DIR] [--out DIR]\n");
      std::exit(0);
    }
    if (i + 1 >= argc) throw tg::Error("higher_order: " + arg + " expects a value (see --help)");
    const std::string value = argv[++i];
    if (arg == "--steps") o.steps = std::stoi(value);
    else if (arg == "--batch") o.batch = std::stoi(value);
    else if (arg == "--lr") o.lr = std::stod(value);
    else if (arg == "--lambda") o.lambda = std::stod(value);
    else if (arg == "--power-iterations") o.power_iterations = std::stoi(value);
    else if (arg == "--hessian-batch") o.hessian_batch = std::stoi(value);
    else if (arg == "--data-root") o.data_root = value;
    else if (arg == "--out") o.out = value;
    else throw tg::Error("higher_order: unknown option " + arg + " (see --help)");
  }
  if (o.steps < 1 || o.batch < 1 || o.power_iterations < 1 || o.hessian_batch < 1 || !(o.lr > 0) || !(o.lambda >= 0))
    throw tg::Error("higher_order: expected --steps, --batch, --power-iterations, --hessian-batch >= 1, "
                    "--lr > 0 and --lambda >= 0");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    using tg::data::FashionMNIST;
    using tg::data::Split;
    auto train_set = o.data_root.empty() ? std::make_shared<FashionMNIST>(Split::Train)
                                         : std::make_shared<FashionMNIST>(o.data_root, Split::Train);
    auto test_set = o.data_root.empty() ? std::make_shared<FashionMNIST>(Split::Test)
                                        : std::make_shared<FashionMNIST>(o.data_root, Split::Test);
    std::filesystem::create_directories(o.out);
    tg::data::DataLoader loader(train_set, {.batch_size = o.batch, .shuffle = true, .seed = 1}, {});

    tg::manual_seed(0);
    Net plain;
    tg::manual_seed(0);
    Net robust;  // the same initial weights
    train(plain, loader, o.steps, o.lr, 0.0, "plain");
    train(robust, loader, o.steps, o.lr, o.lambda, "double backprop");

    const std::vector<double> sigmas{0.0, 0.1, 0.2, 0.3, 0.4};
    tg::examples::Series plain_acc{"plain", {}, {}}, robust_acc{"double backprop", {}, {}};
    for (double s : sigmas) {
      plain_acc.x.push_back(s), robust_acc.x.push_back(s);
      plain_acc.y.push_back(accuracy(plain, *test_set, s));
      robust_acc.y.push_back(accuracy(robust, *test_set, s));
      std::printf("noise sigma %.1f: test accuracy plain %.2f%%, double backprop %.2f%%\n", s,
                  plain_acc.y.back(), robust_acc.y.back());
    }
    tg::examples::line_plot(o.out + "/noise_robustness.png", {plain_acc, robust_acc},
                            {.title = "Test accuracy under Gaussian input noise", .x_label = "noise sigma",
                             .y_label = "accuracy (%)"});

    tg::data::DataLoader hessian_loader(train_set, {.batch_size = o.hessian_batch}, {});
    const tg::data::Batch hessian_batch = *hessian_loader.begin();
    const std::vector<double> before = top_eigenvalue(plain, hessian_batch, o.power_iterations);
    std::printf("top Hessian eigenvalue after %d steps at lr %g: %.3f\n", o.steps, o.lr, before.back());
    train(plain, loader, o.steps / 2 > 0 ? o.steps / 2 : 1, o.lr / 10, 0.0, "plain, lr / 10");
    const std::vector<double> after = top_eigenvalue(plain, hessian_batch, o.power_iterations);
    std::printf("top Hessian eigenvalue after %d more steps at lr %g: %.3f\n", o.steps / 2, o.lr / 10,
                after.back());
    tg::examples::Series b{"at lr " + std::to_string(o.lr).substr(0, 5), {}, before},
        a{"after decaying to lr / 10", {}, after};
    for (int i = 1; i <= o.power_iterations; ++i) b.x.push_back(i), a.x.push_back(i);
    tg::examples::line_plot(o.out + "/sharpness.png", {b, a},
                            {.title = "Top Hessian eigenvalue, power iteration", .x_label = "iteration",
                             .y_label = "Rayleigh quotient", .legend_at_bottom = true});
    std::printf("wrote %s/noise_robustness.png and %s/sharpness.png\n", o.out.c_str(), o.out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "higher_order: %s\n", e.what());
    return 1;
  }
}
