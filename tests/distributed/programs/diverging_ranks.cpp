// Ranks that disagree, one case per run (the first argument): each must end the job with a
// non-zero exit and a message naming the rank and what diverged, well within the timeout the
// test sets (TAPEGRAD_DIST_TIMEOUT); tests/distributed/programs/expect_bounded_failure.cmake
// runs it under mpirun and checks all three. Without the checks these cases hang forever.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

namespace {

namespace dist = tg::distributed;
namespace nn = tg::nn;

struct Net : nn::Module {
  nn::Conv2d conv{1, 4, 3};
  nn::BatchNorm2d bn{4};
  nn::Linear fc{4 * 6 * 6, 3};
  Net() {
    register_module("conv", conv);
    register_module("bn", bn);
    register_module("fc", fc);
  }
  tg::Variable forward(const tg::Variable& x) { return fc(tg::relu(bn(conv(x))).flatten()); }
};

tg::Variable loss_of(Net& net, int step) {
  tg::manual_seed(std::uint64_t(step));
  tg::Variable x(tg::randn({2, 1, 8, 8}));
  return tg::sum(net.forward(x));
}

// `steps` DDP steps (SyncBatchNorm when sync_bn).
void train(int steps, bool sync_bn) {
  Net net;
  if (sync_bn) dist::convert_sync_batchnorm(net);
  dist::DistributedDataParallel ddp(net);
  tg::optim::SGD opt(net.parameters(), {.lr = 0.01});
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    loss_of(net, s).backward();
    opt.step();
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string c = argc > 1 ? argv[1] : "";
  if (c == "before_init" || c == "init_after_finalize") {
    try {
      tg::Tensor t = tg::filled({3}, 1.0f);
      // What the launcher says, not a world of one.
      std::fprintf(stderr, "before init: rank %d of %d\n", dist::rank(), dist::world_size());
      if (c == "init_after_finalize") {
        dist::init();
        dist::finalize();
        dist::init();
      }
      dist::all_reduce(t);
      std::printf("no error\n");
      return 0;
    } catch (const tg::Error& e) {
      std::fprintf(stderr, "tg::Error: %s\n", e.what());
      return 3;
    }
  }
  dist::init();
  const int r = dist::rank();
  tg::Tensor t = tg::filled({3}, 1.0f);
  if (c == "return_early") {  // a rank catches an error and returns while the other waits
    if (r == 1) {
      try {
        throw std::runtime_error("bad batch");
      } catch (const std::exception&) {
        return 0;
      }
    }
    dist::barrier();
  } else if (c == "exit_call") {
    if (r == 1) std::exit(0);
    dist::all_reduce(t);
  } else if (c == "steps") {  // 5 steps on rank 0, 6 on the others
    train(r == 0 ? 5 : 6, false);
  } else if (c == "stopped") {  // a rank stops (SIGSTOP) before a collective
    if (r == 1) std::raise(SIGSTOP);
    dist::all_reduce(t);
  } else if (c == "no_sync_one_rank") {
    Net net;
    dist::DistributedDataParallel ddp(net);
    if (r == 0) {
      auto guard = ddp.no_sync();
      loss_of(net, 0).backward();
    }
    loss_of(net, 1).backward();
  } else if (c == "sync_bn_one_rank") {
    Net net;
    if (r == 0) dist::convert_sync_batchnorm(net);
    dist::DistributedDataParallel ddp(net);
    loss_of(net, 0).backward();
  }
  dist::finalize();
  return 0;
}
