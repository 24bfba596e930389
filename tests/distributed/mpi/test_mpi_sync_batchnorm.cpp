// SyncBatchNorm across processes (2 and 4 ranks): a CNN with BatchNorm trained 10 SGD steps
// with DDP and convert_sync_batchnorm on per-rank slices equals one process on the global batch
// (losses, parameters and running statistics); without conversion each rank normalises with
// its own statistics, as in PyTorch, and the results differ.
#include <doctest/doctest.h>

#include <tapegrad/distributed/distributed.hpp>
#include "distributed/mpi/mpi_test_util.hpp"

namespace {

namespace nn = tg::nn;
namespace dist = tg::distributed;
using tg::Variable;

// conv -> BN -> relu -> pool -> linear -> BN1d on [N, 1, 8, 8] images, 5 classes.
struct BnCNN : nn::Module {
  nn::Conv2d conv{1, 4, 3};
  nn::BatchNorm2d bn{4};
  nn::MaxPool2d pool{2, 2};
  nn::Linear fc{4 * 3 * 3, 5};
  nn::BatchNorm1d bn_out{5};
  BnCNN() {
    register_module("conv", conv);
    register_module("bn", bn);
    register_module("pool", pool);
    register_module("fc", fc);
    register_module("bn_out", bn_out);
  }
  Variable forward(const Variable& x) {
    return bn_out(fc(pool(tg::relu(bn(conv(x)))).flatten()));
  }
};

}  // namespace

TEST_CASE("SyncBatchNorm with DDP on per-rank slices equals one process on the global batch") {
  const std::size_t r = std::size_t(dist::rank()), n = std::size_t(dist::world_size());
  tg::manual_seed(7);
  BnCNN reference;
  const std::vector<float> ref_losses = tg::test::train(reference, 0, tg::test::kBatch);
  const std::size_t per = tg::test::kBatch / n;
  for (bool sync : {true, false}) {
    CAPTURE(sync);
    tg::manual_seed(7);
    BnCNN model;
    if (sync) CHECK(dist::convert_sync_batchnorm(model) == 2);
    dist::DistributedDataParallel ddp(model, {.bucket_cap_mb = 0.0005, .first_bucket_cap_mb = 0.0005});
    const std::vector<float> losses = tg::test::train(model, r * per, (r + 1) * per);
    if (sync) {
      tg::test::check_global_losses(losses, ref_losses);
      tg::test::check_same_state(model, reference);
    } else {  // per-rank statistics: not the global batch's
      CHECK(std::abs(model.fc->weight.value()(0, 0) - reference.fc->weight.value()(0, 0)) > 1e-4);
    }
  }
}

TEST_CASE("eval mode uses the running statistics: no communication, same as batch_norm") {
  BnCNN model;
  dist::convert_sync_batchnorm(model);
  model.eval();
  BnCNN plain;
  plain.load_state_dict(model.state_dict());
  plain.eval();
  auto [x, y] = tg::test::batch(0, 0, 2);
  tg::test::check_close(model.forward(x).value(), plain.forward(x).value(), 0, 0);
}
