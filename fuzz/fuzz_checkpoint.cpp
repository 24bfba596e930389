// Training checkpoints on arbitrary bytes: load_checkpoint into a model with SGD and a
// scheduler, and into one with Adam; whatever loads must then train a step without undefined
// behaviour (UBSan: counters that overflow, options that make no sense).
#include <cstddef>
#include <cstdint>

#include <tapegrad/autograd/error.hpp>
#include "fuzz_checkpoint_net.hpp"
#include "fuzz_util.hpp"
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

namespace {

using Net = tg_fuzz::CheckpointNet;

void train_step(Net& net, tg::optim::Optimizer& opt, tg::optim::LRScheduler* scheduler) {
  const tg::Variable x(tg::ones({4, 3}).value());
  opt.zero_grad();
  tg::sum(net.forward(x)).backward();
  opt.step();
  if (scheduler) scheduler->step();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = tg_fuzz::write_input("ckpt.safetensors", data, size);
  {
    Net net;
    tg::optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});
    tg::optim::StepLR scheduler(sgd, 2, 0.5);
    try {
      tg::optim::load_checkpoint(path, net, sgd, &scheduler);
      train_step(net, sgd, &scheduler);
    } catch (const tg::Error&) {
    }
  }
  {
    Net net;
    tg::optim::Adam adam(net.parameters());
    try {
      tg::optim::load_checkpoint(path, net, adam);
      train_step(net, adam, nullptr);
    } catch (const tg::Error&) {
    }
  }
  return 0;
}
