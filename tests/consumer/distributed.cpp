// A program of another project using the installed tapegrad_distributed: a world of one
// (no launcher), DDP on a layer, backward; exits 0 when the gradient is there.
#include <tapegrad/distributed/distributed.hpp>  // one area alone, not the whole API
#include <tapegrad/nn/nn.hpp>
#include <cstdio>
int main() {
  tg::distributed::init();
  tg::nn::Linear fc(3, 1);
  tg::distributed::DistributedDataParallel ddp(*fc);
  tg::sum(fc(tg::Variable(tg::ones({2, 3}).value()))).backward();
  std::printf("world %d, grad %.1f\n", tg::distributed::world_size(), fc->bias.grad()(0));
  return tg::distributed::world_size() == 1 && fc->bias.grad()(0) == 2.0f ? 0 : 1;
}
