// Training checkpoints: one safetensors file with model, optimizer, scheduler and epoch; a run
// resumed from one continues bit for bit.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <tuple>

#include <tapegrad/nn/nn.hpp>
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

// ------------------------------------------------------------------ checkpoints that lie

namespace {

// Rewrites a checkpoint through read/write_safetensors (fresh checksums), edited by `edit`: a
// file that parses and passes its checksums, with a value that makes no sense.
template <class Edit>
void rewrite(const std::filesystem::path& from, const std::filesystem::path& to, Edit edit) {
  auto archive = nn::read_safetensors(from);
  edit(archive);
  nn::write_safetensors(to, archive);
}

// What load_checkpoint may change, to compare before and after a failed load.
struct Snapshot {
  nn::StateDict model;
  std::vector<double> lrs;
  std::int64_t step, last_epoch;
  explicit Snapshot(const Run& run)
      : model(run.net.state_dict()),
        lrs(run.opt.lrs()),
        step(run.opt.state(0, 0).step),
        last_epoch(run.schedule.last_epoch()) {}
  bool operator==(const Snapshot& o) const {
    return same_bits(model, o.model) && lrs == o.lrs && step == o.step &&
           last_epoch == o.last_epoch;
  }
};

}  // namespace

TEST_CASE("checkpoints whose options or counters make no sense do not load, and change nothing") {
  const auto dir = test::temp_dir("optim_checkpoint_lies");
  Run run;
  run.train_step(0);
  save_checkpoint(dir / "good.safetensors", run.net, run.opt, &run.schedule, 1);
  struct Case {
    std::string key, value, message;
  };
  const std::string max = "9223372036854775807";
  const Case cases[] = {
      {"optim.param_groups.0.lr", "inf", "SGD: expected lr >= 0 and finite"},
      {"optim.param_groups.0.lr", "nan", "SGD: expected lr >= 0 and finite"},
      {"optim.param_groups.2.lr", "-0.5", "SGD: expected lr >= 0 and finite"},
      {"optim.param_groups.0.momentum", "1e308", "expected momentum in [0, 1], got 1e+308"},
      {"optim.param_groups.0.momentum", "inf", "expected momentum in [0, 1], got inf"},
      {"optim.param_groups.1.weight_decay", "inf", "expected a finite weight_decay, got inf"},
      {"optim.param_groups.0.dampening", "nan", "expected a finite dampening, got nan"},
      {"optim.param_groups.0.initial_lr", "inf", "expected a finite initial_lr, got inf"},
      {"optim.state.0.step", max, "expected 'state.0.step' in [1, 2^53], got " + max},
      {"optim.state.3.step", "0", "expected 'state.3.step' in [1, 2^53], got 0"},
      {"scheduler.base_lrs", "inf,0.1,0.05", "expected a finite base_lrs, got inf"},
      {"scheduler.last_lr", "0.1,nan,0.05", "expected a finite last_lr, got nan"},
      {"scheduler.last_epoch", "-100", "expected 'last_epoch' in [-1, 2^53], got -100"},
      {"scheduler.last_epoch", max, "expected 'last_epoch' in [-1, 2^53], got " + max},
      {"scheduler.schedulers.1.step_count", "-1",
       "expected 'schedulers.1.step_count' in [0, 2^53], got -1"},
      {"epoch", "-5", "expected 'epoch' in [0, 2^53], got -5"},
      {"epoch", max, "expected 'epoch' in [0, 2^53], got " + max},
  };
  manual_seed(3);
  Run target;
  target.train_step(7);
  const Snapshot before(target);
  for (const auto& c : cases) {
    rewrite(dir / "good.safetensors", dir / "bad.safetensors",
            [&](nn::TensorArchive& a) { a.metadata.at(c.key) = c.value; });
    CHECK_THROWS_WITH_AS(load_checkpoint(dir / "bad.safetensors", target.net, target.opt,
                                         &target.schedule),
                         doctest::Contains(c.message.c_str()), tg::Error);
    CHECK_MESSAGE(Snapshot(target) == before, c.key, " = ", c.value);
  }
  // BatchNorm's statistics: a negative or infinite variance, a fractional count.
  const std::pair<const char*, float> tensors[] = {{"model.bn.running_var", -1.0f},
                                                   {"model.bn.running_var", INFINITY},
                                                   {"model.bn.num_batches_tracked", 2.5f}};
  for (const auto& [key, value] : tensors) {
    rewrite(dir / "good.safetensors", dir / "bad.safetensors", [&](nn::TensorArchive& a) {
      a.tensors.at(key).data()[0] = value;
      a.dtypes.erase(key);
    });
    CHECK_THROWS_WITH_AS(load_checkpoint(dir / "bad.safetensors", target.net, target.opt,
                                         &target.schedule),
                         doctest::Contains("load_state_dict: expected 'bn."), tg::Error);
    CHECK_MESSAGE(Snapshot(target) == before, key);
  }
  // An lr a hair below 0, where PyTorch's schedules can end (LinearLR to 0 by rounding), loads.
  rewrite(dir / "good.safetensors", dir / "bad.safetensors",
          [&](nn::TensorArchive& a) { a.metadata.at("optim.param_groups.2.lr") = "-1.8503717077085943e-18"; });
  CHECK(load_checkpoint(dir / "bad.safetensors", target.net, target.opt, &target.schedule) == 1);
  CHECK(target.opt.lr(2) == doctest::Approx(-1.85e-18).epsilon(1e-3));
  // The untouched file loads into the same objects.
  CHECK(load_checkpoint(dir / "good.safetensors", target.net, target.opt, &target.schedule) == 1);
  CHECK(target.opt.state(0, 0).step == 1);
}

TEST_CASE("Adam's and RMSprop's options are checked on load too") {
  const auto dir = test::temp_dir("optim_checkpoint_lies_adam");
  Net net;
  Adam adam(net.parameters());
  save_checkpoint(dir / "adam.safetensors", net, adam, nullptr, 0);
  RMSprop rms(net.parameters());
  save_checkpoint(dir / "rms.safetensors", net, rms, nullptr, 0);
  const std::tuple<const char*, const char*, const char*, const char*> cases[] = {
      {"adam", "optim.param_groups.0.beta1", "1", "Adam: expected betas.first in [0, 1), got 1"},
      {"adam", "optim.param_groups.0.beta2", "-0.1", "expected betas.second in [0, 1)"},
      {"adam", "optim.param_groups.0.eps", "0", "Adam: expected eps > 0 and finite, got 0"},
      {"rms", "optim.param_groups.0.alpha", "2", "RMSprop: expected alpha in [0, 1], got 2"},
      {"rms", "optim.param_groups.0.eps", "inf", "expected eps > 0 and finite, got inf"},
  };
  for (const auto& [which, key, value, message] : cases) {
    const auto from = dir / (std::string(which) + ".safetensors");
    rewrite(from, dir / "bad.safetensors",
            [&](nn::TensorArchive& a) { a.metadata.at(key) = value; });
    Optimizer& opt = std::string(which) == "adam" ? static_cast<Optimizer&>(adam) : rms;
    CHECK_THROWS_WITH_AS(load_checkpoint(dir / "bad.safetensors", net, opt),
                         doctest::Contains(message), tg::Error);
  }
  CHECK(adam.options(0).betas.first == 0.9);
  CHECK(rms.options(0).alpha == 0.99);
}

TEST_CASE("bit flips anywhere in a checkpoint are caught by its checksums, naming the tensor") {
  const auto dir = test::temp_dir("optim_checkpoint_flips");
  Run run;
  run.train_step(0);
  save_checkpoint(dir / "good.safetensors", run.net, run.opt, &run.schedule, 1);
  const std::string valid = [&] {
    std::ifstream in(dir / "good.safetensors", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  manual_seed(3);
  Run target;
  const Snapshot before(target);
  auto load_bytes = [&](const std::string& bytes) -> std::string {
    std::filesystem::remove(dir / "flipped.safetensors");  // no in-place rewrite: ext4 flushes those
    std::ofstream(dir / "flipped.safetensors", std::ios::binary) << bytes;
    try {
      load_checkpoint(dir / "flipped.safetensors", target.net, target.opt, &target.schedule);
    } catch (const tg::Error& e) {
      return e.what();
    }
    return "";
  };
  // One bit in every third byte (which bit rotates), header and data.
  std::size_t caught = 0, flips = 0;
  for (std::size_t byte = 0; byte < valid.size(); byte += 3, ++flips) {
    std::string bytes = valid;
    bytes[byte] = static_cast<char>(bytes[byte] ^ (1 << (byte % 8)));
    caught += !load_bytes(bytes).empty();
  }
  CHECK(caught == flips);
  CHECK(Snapshot(target) == before);
  // A changed digit of lr, and a flipped bit in a weight, say where.
  std::string lr = valid;
  const auto at = lr.find("\"optim.param_groups.0.lr\":\"0.");
  REQUIRE(at != std::string::npos);
  lr[at + 29] = lr[at + 29] == '1' ? '2' : '1';
  CHECK(load_bytes(lr).find("expected the header to match its checksum") != std::string::npos);
  std::uint64_t header = 0;
  std::memcpy(&header, valid.data(), 8);
  const auto archive = nn::read_safetensors(dir / "good.safetensors");
  std::string weight = valid;
  weight[weight.size() - 1] ^= 0x01;  // the last tensor in the data: the last name in order
  CHECK(load_bytes(weight).find("entry '" + archive.tensors.rbegin()->first +
                                "': expected data matching its checksum") != std::string::npos);
}

TEST_CASE("a checkpoint write killed midway leaves the old checkpoint and no temporary file") {
  const auto dir = test::temp_dir("optim_checkpoint_kill");
  Run run;
  run.train_step(0);
  save_checkpoint(dir / "ckpt.safetensors", run.net, run.opt, &run.schedule, 1);
  const auto size = std::filesystem::file_size(dir / "ckpt.safetensors");
  run.train_step(1);
  for (int trial = 0; trial < 5; ++trial) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // The kernel kills the writer with SIGXFSZ once it passes this size: mid-write.
      const rlim_t limit = static_cast<rlim_t>(size) * static_cast<rlim_t>(trial + 1) / 6;
      rlimit no_core{0, 0}, small{limit, limit};
      ::setrlimit(RLIMIT_CORE, &no_core);
      ::setrlimit(RLIMIT_FSIZE, &small);
      save_checkpoint(dir / "ckpt.safetensors", run.net, run.opt, &run.schedule, 2);
      _exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
    CHECK(entries == 1);  // ckpt.safetensors only: no temporary file
    Run resumed;
    CHECK(load_checkpoint(dir / "ckpt.safetensors", resumed.net, resumed.opt, &resumed.schedule) ==
          1);
  }
}

TEST_CASE("a checkpoint saved to a device is written into it; a full one is an error") {
  // Issue 36, finding 4: save_checkpoint replaced a device node (or the file behind
  // /dev/stdout) with a regular file.
  const auto dir = test::temp_dir("optim_checkpoint_device");
  Run run;
  run.train_step(0);
  const auto null_dev = dir / "null", full_dev = dir / "full";
  const bool own = ::mknod(null_dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0 &&
                   ::mknod(full_dev.c_str(), S_IFCHR | 0666, makedev(1, 7)) == 0;
  const std::filesystem::path null_path = own ? null_dev : "/dev/null";
  const std::filesystem::path full_path = own ? full_dev : "/dev/full";
  save_checkpoint(null_path, run.net, run.opt, &run.schedule, 1);
  CHECK(std::filesystem::is_character_file(null_path));
  CHECK_THROWS_WITH_AS(save_checkpoint(full_path, run.net, run.opt, &run.schedule, 1),
                       doctest::Contains("No space left on device"), Error);
  CHECK(std::filesystem::is_character_file(full_path));
}
