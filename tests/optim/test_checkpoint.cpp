// Training checkpoints: one safetensors file with model, optimizer, scheduler and epoch; a run
// resumed from one continues bit for bit.
#include <fstream>

#include "nn/nn.hpp"
#include "optim_test_util.hpp"

using namespace tg;
using namespace tg::optim;

namespace {

struct Net : nn::Module {
  nn::Linear fc1{3, 8};
  nn::BatchNorm1d bn{8};  // buffers too, num_batches_tracked stored as I64
  nn::Linear fc2{8, 2};
  Net() {
    register_module("fc1", fc1);
    register_module("bn", bn);
    register_module("fc2", fc2);
  }
  Variable forward(const Variable& x) { return fc2(tg::relu(bn(fc1(x)))); }
};

// Everything a training run holds: model, optimizer (two groups), warm-up + cosine schedule.
struct Run {
  Net net;
  SGD opt;
  LinearLR warmup;
  CosineAnnealingLR cosine;
  SequentialLR schedule;
  Run()
      : opt({{net.fc1->parameters()}, {net.bn->parameters()}, {net.fc2->parameters(), {.lr = 0.05}}},
            {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true}),
        warmup(opt, {.start_factor = 0.2, .total_iters = 3}),
        cosine(opt, 7, 1e-3),
        schedule(opt, {warmup, cosine}, {3}) {}

  // One step on batch `i` of a fixed synthetic data set.
  void train_step(int i) {
    Generator gen(Generator::derive(11, static_cast<std::uint64_t>(i)));
    const Variable x(rand_tensor({6, 3}, gen, -1, 1));
    const Variable target(rand_tensor({6, 2}, gen, -1, 1));
    opt.zero_grad();
    const Variable loss = tg::mse_loss(net.forward(x), target);
    loss.backward();
    clip_grad_norm_(net.parameters(), 5.0);
    opt.step();
    schedule.step();
  }
};

bool same_bits(const nn::StateDict& a, const nn::StateDict& b) {
  if (a.size() != b.size()) return false;
  for (const auto& e : a) {
    const Tensor* other = b.find(e.name);
    if (!other || other->shape() != e.value.shape() ||
        !std::equal(e.value.begin(), e.value.end(), other->begin()))
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("10 steps == 5 steps + checkpoint + fresh objects + load + 5 steps, bit for bit") {
  const auto path = test::temp_dir("optim_checkpoint") / "run.safetensors";
  manual_seed(1);
  Run straight;
  for (int i = 0; i < 10; ++i) straight.train_step(i);

  manual_seed(1);
  auto first = std::make_unique<Run>();
  for (int i = 0; i < 5; ++i) first->train_step(i);
  save_checkpoint(path, first->net, first->opt, &first->schedule, 5, {{"note", "half way"}});
  first.reset();

  manual_seed(99);  // different initial weights: the checkpoint must overwrite them all
  Run resumed;
  std::map<std::string, std::string> extra;
  CHECK(load_checkpoint(path, resumed.net, resumed.opt, &resumed.schedule, &extra) == 5);
  CHECK(extra == std::map<std::string, std::string>{{"note", "half way"}});
  CHECK(resumed.schedule.last_epoch() == 5);
  for (int i = 5; i < 10; ++i) resumed.train_step(i);

  CHECK(same_bits(resumed.net.state_dict(), straight.net.state_dict()));
  CHECK(resumed.opt.lrs() == straight.opt.lrs());
  const auto a = resumed.opt.state_dict(), b = straight.opt.state_dict();
  CHECK(a.metadata == b.metadata);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& [key, t] : a.tensors) CHECK(std::equal(t.begin(), t.end(), b.tensors.at(key).begin()));
}

TEST_CASE("a checkpoint is one safetensors file with prefixed entries") {
  const auto path = test::temp_dir("optim_checkpoint_layout") / "ckpt.safetensors";
  Run run;
  run.train_step(0);
  save_checkpoint(path, run.net, run.opt, nullptr, 1);
  const auto archive = nn::read_safetensors(path);
  CHECK(archive.metadata.at("format") == "tapegrad.checkpoint");
  CHECK(archive.metadata.at("epoch") == "1");
  CHECK(archive.metadata.at("optim.optimizer") == "SGD");
  CHECK(archive.metadata.count("scheduler.scheduler") == 0);
  CHECK(archive.tensors.count("model.fc1.weight") == 1);
  CHECK(archive.tensors.count("model.bn.running_mean") == 1);
  CHECK(archive.tensors.count("optim.state.0.momentum_buffer") == 1);
  // A scheduler asked for but not saved, and a plain weights file, are refused by name.
  Run other;
  CHECK_THROWS_WITH_AS(load_checkpoint(path, other.net, other.opt, &other.schedule),
                       doctest::Contains("got a checkpoint saved without a scheduler"), tg::Error);
  const auto weights = path.parent_path() / "weights.safetensors";
  nn::save(run.net, weights);
  CHECK_THROWS_WITH_AS(load_checkpoint(weights, other.net, other.opt),
                       doctest::Contains("weights.safetensors): expected a checkpoint"), tg::Error);
}

TEST_CASE("load_checkpoint into a mismatched optimizer names the file and changes nothing") {
  const auto path = test::temp_dir("optim_checkpoint_mismatch") / "ckpt.safetensors";
  Run run;
  run.train_step(0);
  save_checkpoint(path, run.net, run.opt, &run.schedule, 1);

  Net net;
  const auto before = net.state_dict();
  Adam adam(net.parameters());
  CHECK_THROWS_WITH_AS(load_checkpoint(path, net, adam),
                       doctest::Contains("ckpt.safetensors): Adam.load_state_dict: expected the state of a Adam, got that of a SGD"),
                       tg::Error);
  CHECK(same_bits(net.state_dict(), before));
  CHECK(adam.state(0, 0).step == 0);
}

TEST_CASE("a checkpoint carries the default generator, so dropout continues the same stream") {
  const auto dir = std::filesystem::temp_directory_path() / "tapegrad_optim_checkpoint_rng";
  std::filesystem::create_directories(dir);
  Run run;
  manual_seed(5);
  default_generator().normal();
  save_checkpoint(dir / "rng.safetensors", run.net, run.opt, &run.schedule, 1);
  const Tensor expected = dropout(Variable(filled({64}, 1.0f)), 0.5f, true).value();
  manual_seed(123);  // what a fresh process would have
  Run resumed;
  load_checkpoint(dir / "rng.safetensors", resumed.net, resumed.opt, &resumed.schedule);
  CHECK(dropout(Variable(filled({64}, 1.0f)), 0.5f, true).value() == expected);
}
