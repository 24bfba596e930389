// Data-parallel benchmarks (issue 13); bench/dist_run.sh runs them all and prints the tables.
//   mpirun -np 2 dist_bench allreduce [--rounds N]
//       bus bandwidth of the sum-allreduce DDP uses (MPI_Iallreduce + MPI_Wait) for 1, 5, 10 and
//       25 MiB buffers, sizes interleaved round by round.
//   [mpirun -np R] dist_bench train --mode plain|ddp|ddp-syncbn|ddp-one-bucket --batch B
//                                   --threads T [--steps S]
//       ResNet-20 training steps (bench/resnet20.hpp, SGD .1 m .9 wd 5e-4) on B images per rank.
//       plain: no DDP (under mpirun: every rank computes alone, no communication at all);
//       ddp: default buckets (1 MiB first, 25 MiB); ddp-syncbn: and SyncBatchNorm;
//       ddp-one-bucket: a single bucket, started when backward ends (no overlap).
//   dist_bench overhead --batch B --threads T [--pairs N]
//       DDP's cost in a world of one: a DDP-wrapped and a plain ResNet-20 in the same process,
//       alternating step by step, N steps each; also the per-pair time ratio DDP / plain.
// Rank 0 prints one JSON line per result: seconds per call or step, min and median.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/autograd/autograd.hpp>
#include "bench/resnet20.hpp"
#include "bench/workloads.hpp"
#include <tapegrad/distributed/backend.hpp>
#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/optim/sgd.hpp>

namespace {

namespace dist = tg::distributed;
using clock_type = std::chrono::steady_clock;
using tg::bench::ResNet20;

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

struct Stats {
  double min = 0, median = 0;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v.front(), v[v.size() / 2]};
}

// --key value pairs after the command.
std::map<std::string, std::string> parse(int argc, char** argv) {
  std::map<std::string, std::string> out;
  for (int i = 2; i < argc; ++i) {
    const std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || i + 1 >= argc)
      throw std::invalid_argument("expected --key value, got " + key);
    out[key.substr(2)] = argv[++i];
  }
  return out;
}

int get(const std::map<std::string, std::string>& args, const std::string& key, int fallback) {
  auto it = args.find(key);
  return it == args.end() ? fallback : std::stoi(it->second);
}

void print_line(const std::string& fields, const Stats& s) {
  if (dist::rank() == 0)
    std::printf("{%s, \"ranks\": %d, \"min_s\": %.6g, \"median_s\": %.6g}\n", fields.c_str(),
                dist::world_size(), s.min, s.median);
  std::fflush(stdout);
}

// Seconds per sum-allreduce of each size: every round times a burst of ~0.1 s per size.
void allreduce(const std::map<std::string, std::string>& args) {
  const std::vector<int> sizes_mib = {1, 5, 10, 25};
  const int rounds = get(args, "rounds", 7);
  std::vector<std::vector<float>> buffers;
  std::vector<int> calls;
  for (int mib : sizes_mib) {
    buffers.emplace_back(std::size_t(mib) << 18, 1.0f);  // 2^18 floats per MiB
    const auto t = clock_type::now();
    for (int i = 0; i < 3; ++i) dist::detail::AsyncSum(buffers.back().data(), buffers.back().size()).wait();
    // The same count on every rank (rank 0's estimate), or the ranks would stop matching.
    tg::Tensor n = tg::filled({1}, float(std::max(1, int(0.1 / (since(t) / 3)))));
    dist::broadcast(n, 0);
    calls.push_back(int(n(0)));
  }
  std::vector<std::vector<double>> seconds(sizes_mib.size());
  for (int r = 0; r < rounds; ++r)
    for (std::size_t k = 0; k < sizes_mib.size(); ++k) {
      dist::barrier();
      const auto t = clock_type::now();
      for (int i = 0; i < calls[k]; ++i)
        dist::detail::AsyncSum(buffers[k].data(), buffers[k].size()).wait();
      seconds[k].push_back(since(t) / calls[k]);
    }
  for (std::size_t k = 0; k < sizes_mib.size(); ++k)
    print_line("\"bench\": \"allreduce\", \"mib\": " + std::to_string(sizes_mib[k]), stats(seconds[k]));
}

// One model, its optimizer, a fixed batch: step() is one training step.
struct Trainer {
  ResNet20 model;
  std::optional<dist::DistributedDataParallel> ddp;
  tg::optim::SGD opt{model.parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4}};
  tg::Variable x;
  tg::Labels labels;

  Trainer(const std::string& mode, std::size_t batch) {
    TG_CHECK(model.num_parameters() == std::size_t(tg::bench::kResNet20Params),
             "dist_bench: expected ResNet-20's parameter count");
    if (mode == "ddp-syncbn") dist::convert_sync_batchnorm(model);
    if (mode == "ddp" || mode == "ddp-syncbn") ddp.emplace(model);
    if (mode == "ddp-one-bucket")
      ddp.emplace(model, dist::DDPOptions{.bucket_cap_mb = 1024, .first_bucket_cap_mb = 1024});
    TG_CHECK(ddp || mode == "plain", "dist_bench: unknown --mode ", mode);
    tg::Generator gen(1 + std::uint64_t(dist::rank()));
    x = tg::Variable(tg::randn_tensor({batch, 3, 32, 32}, gen));
    labels = tg::Labels::from_shape({batch});
    for (std::size_t i = 0; i < batch; ++i) labels(i) = std::int64_t(gen.below(10));
    model.train();
  }
  double step() {
    const auto t = clock_type::now();
    opt.zero_grad();
    tg::cross_entropy(model.forward(x), labels).backward();
    opt.step();
    return since(t);
  }
};

void train(const std::map<std::string, std::string>& args) {
  const auto mode = args.count("mode") ? args.at("mode") : "plain";
  const int batch = get(args, "batch", 128), steps = get(args, "steps", 6);
  tg::set_num_threads(get(args, "threads", 1));
  Trainer trainer(mode, std::size_t(batch));
  for (int i = 0; i < 2; ++i) trainer.step();  // warm-up: memory pools, OpenMP threads
  std::vector<double> seconds;
  for (int i = 0; i < steps; ++i) {
    dist::barrier();  // every rank starts the step together
    seconds.push_back(trainer.step());
  }
  // The slowest rank sets the pace: per step, the maximum over ranks.
  tg::Tensor t = tg::empty_tensor({seconds.size()});
  std::copy(seconds.begin(), seconds.end(), t.data());
  dist::all_reduce(t, dist::ReduceOp::Max);
  print_line("\"bench\": \"train\", \"mode\": \"" + mode + "\", \"batch\": " + std::to_string(batch) +
                 ", \"threads\": " + std::to_string(tg::get_num_threads()),
             stats(std::vector<double>(t.begin(), t.end())));
}

void overhead(const std::map<std::string, std::string>& args) {
  TG_CHECK(dist::world_size() == 1, "dist_bench overhead: expected a world of one (no mpirun)");
  const int batch = get(args, "batch", 128), pairs = get(args, "pairs", 30);
  tg::set_num_threads(get(args, "threads", 2));
  Trainer plain("plain", std::size_t(batch)), wrapped("ddp", std::size_t(batch));
  for (int i = 0; i < 2; ++i) plain.step(), wrapped.step();
  // One step each, alternating which goes first: a load that changes over seconds hits both.
  std::vector<double> a, b, ratio;
  for (int i = 0; i < pairs; ++i) {
    const bool ddp_first = i % 2 == 1;
    const double first = (ddp_first ? wrapped : plain).step();
    const double second = (ddp_first ? plain : wrapped).step();
    a.push_back(ddp_first ? second : first);
    b.push_back(ddp_first ? first : second);
    ratio.push_back(b.back() / a.back());
  }
  const std::string common = ", \"batch\": " + std::to_string(batch) + ", \"threads\": " +
                             std::to_string(tg::get_num_threads());
  print_line("\"bench\": \"overhead\", \"mode\": \"plain\"" + common, stats(a));
  print_line("\"bench\": \"overhead\", \"mode\": \"ddp\"" + common, stats(b));
  print_line("\"bench\": \"overhead\", \"mode\": \"ratio\"" + common, stats(ratio));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    dist::init();
    const std::string command = argc > 1 ? argv[1] : "";
    const auto args = parse(argc, argv);
    if (command == "allreduce") allreduce(args);
    else if (command == "train") train(args);
    else if (command == "overhead") overhead(args);
    else throw std::invalid_argument("expected allreduce, train or overhead, got '" + command + "'");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dist_bench: %s\n", e.what());
    if (dist::world_size() > 1) throw;  // takes every rank down
    return 1;
  }
}
