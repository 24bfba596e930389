// A small data-parallel training run whose result can be compared across placements of its
// ranks (scripts/multihost.sh: one host against two network namespaces over TCP): each rank
// trains its slice of a fixed global batch; rank 0 prints every step's mean loss over ranks and
// a hash of the final parameters' bits, which must be the same wherever the ranks ran.
// Arguments: the number of steps (default 20) and the milliseconds to sleep after each step
// (default 0; the link-drop test uses a long run so that it is mid-training when the link goes).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

namespace {

namespace dist = tg::distributed;
namespace nn = tg::nn;

struct Net : nn::Module {
  nn::Conv2d conv{1, 8, 3};
  nn::Linear fc{8 * 6 * 6, 4};
  Net() {
    register_module("conv", conv);
    register_module("fc", fc);
  }
  tg::Variable forward(const tg::Variable& x) { return fc(tg::relu(conv(x)).flatten()); }
};

constexpr std::size_t kBatch = 16;

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 20;
  const int sleep_ms = argc > 2 ? std::atoi(argv[2]) : 0;
  dist::init();
  const std::size_t rank = std::size_t(dist::rank()), world = std::size_t(dist::world_size());
  if (kBatch % world != 0) {
    std::fprintf(stderr, "multihost_train: expected a world size dividing %zu\n", kBatch);
    return 2;
  }
  tg::manual_seed(7);
  Net net;
  dist::DistributedDataParallel ddp(net);
  tg::optim::SGD opt(net.parameters(), {.lr = 0.05, .momentum = 0.9});
  const std::size_t per = kBatch / world;
  for (int step = 0; step < steps; ++step) {
    tg::manual_seed(1000 + std::uint64_t(step));  // the same global batch on every rank
    const tg::Tensor all = tg::randn({kBatch, 1, 8, 8}).value();
    tg::Tensor x = tg::empty_tensor({per, 1, 8, 8});
    std::copy(all.data() + rank * per * 64, all.data() + (rank + 1) * per * 64, x.data());
    tg::Labels y = tg::Labels::from_shape({per});
    for (std::size_t i = 0; i < per; ++i) y(i) = std::int64_t((rank * per + i) % 4);
    opt.zero_grad();
    tg::Variable loss = tg::cross_entropy(net.forward(tg::Variable(x)), y);
    loss.backward();
    opt.step();
    tg::Tensor l = tg::filled({1}, loss.item());
    dist::all_reduce(l, dist::ReduceOp::Avg);
    if (rank == 0) std::printf("step %d loss %.9g\n", step, double(l(0)));
    std::fflush(stdout);
    if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  }
  std::uint64_t h = 1469598103934665603ull;
  for (const tg::Variable& p : net.parameters())
    for (float v : p.value()) {
      std::uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      h = (h ^ bits) * 1099511628211ull;
    }
  if (rank == 0) std::printf("parameters hash %016llx\n", static_cast<unsigned long long>(h));
  dist::finalize();
  return 0;
}
