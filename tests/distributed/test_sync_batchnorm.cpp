// SyncBatchNorm in a world of one: convert_sync_batchnorm finds every BatchNorm and the
// converted model computes exactly what tg::batch_norm does (forward, gradients, statistics).
#include <doctest/doctest.h>

#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/nn/nn.hpp>
#include "test_util.hpp"

namespace nn = tg::nn;

TEST_CASE("convert_sync_batchnorm: every BatchNorm, identical results in a world of one") {
  auto make = [] {
    nn::Sequential s;
    s->push_back(nn::Linear(3, 4));
    s->push_back(nn::BatchNorm1d(4));
    s->push_back(nn::ReLU());
    s->push_back(nn::Linear(4, 2));
    s->push_back(nn::BatchNorm1d(2));
    return s;
  };
  nn::Sequential a = make(), b = make();
  b->load_state_dict(a->state_dict());
  CHECK(tg::distributed::convert_sync_batchnorm(*a) == 2);
  tg::Variable x(tg::test::uniform({5, 3}, -1, 1, 3));
  tg::sum(a(x) * a(x)).backward();
  tg::sum(b(x) * b(x)).backward();
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i].first);
    tg::test::check_close(pa[i].second.grad(), pb[i].second.grad(), 0, 0);
  }
  tg::test::check_close(a->state_dict().at("1.running_var"), b->state_dict().at("1.running_var"), 0, 0);
}
