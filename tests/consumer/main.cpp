// A program of another project: it finds the installed tapegrad package and trains a linear
// regression, exiting 0 only when the loss falls.
#include <tapegrad/tapegrad.hpp>
#include <cstdio>
int main() {
  tg::manual_seed(0);
  tg::nn::Linear fc(3, 1);
  tg::optim::SGD opt(fc->parameters(), {.lr = 0.1});
  tg::Variable x(tg::randn({8, 3}).value()), y(tg::randn({8, 1}).value());
  float first = 0, last = 0;
  for (int i = 0; i < 50; ++i) {
    opt.zero_grad();
    auto loss = tg::mse_loss(fc(x), y);
    loss.backward();
    opt.step();
    (i == 0 ? first : last) = loss.item();
  }
  std::printf("loss %.4f -> %.4f\n", first, last);
  return last < first ? 0 : 1;
}
