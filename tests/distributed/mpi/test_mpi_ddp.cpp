// DistributedDataParallel across processes (2 and 4 ranks): training on per-rank slices of a
// global batch equals one process training on the whole batch (losses and parameters after 10
// SGD steps, for small and large buckets), parameter mismatches are errors on every rank,
// unused parameters are errors or zeros, no_sync accumulates like one big batch, and changes
// after wrapping, options that differ and a step inside no_sync are errors naming them.
#include <doctest/doctest.h>

#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include "distributed/mpi/mpi_test_util.hpp"

namespace {

namespace nn = tg::nn;
namespace dist = tg::distributed;
using tg::Variable;

// conv -> relu -> pool -> linear on [N, 1, 8, 8] images, 5 classes.
struct SmallCNN : nn::Module {
  nn::Conv2d conv{1, 4, 3};
  nn::MaxPool2d pool{2, 2};
  nn::Linear fc{4 * 3 * 3, 5};
  SmallCNN() {
    register_module("conv", conv);
    register_module("pool", pool);
    register_module("fc", fc);
  }
  Variable forward(const Variable& x) { return fc(pool(tg::relu(conv(x))).flatten()); }
};

}  // namespace

TEST_CASE("DDP on per-rank slices equals one process on the global batch, any bucket size") {
  const std::size_t r = std::size_t(dist::rank()), n = std::size_t(dist::world_size());
  REQUIRE(tg::test::kBatch % n == 0);
  tg::manual_seed(100);
  SmallCNN reference;
  const std::vector<float> ref_losses = tg::test::train(reference, 0, tg::test::kBatch);
  for (double cap : {25.0, 0.0005}) {  // one bucket; a bucket per parameter or two
    CAPTURE(cap);
    tg::manual_seed(100 + r);  // different on each rank: DDP must copy rank 0's weights
    SmallCNN model;
    dist::DistributedDataParallel ddp(model, {.bucket_cap_mb = cap, .first_bucket_cap_mb = cap});
    if (cap < 1) CHECK(ddp.bucket_names().size() >= 3);
    const std::size_t per = tg::test::kBatch / n;
    std::vector<float> losses = tg::test::train(model, r * per, (r + 1) * per);
    tg::test::check_global_losses(losses, ref_losses);
    tg::test::check_same_state(model, reference);
  }
}

TEST_CASE("different parameters on some rank: an error naming the difference on every rank") {
  const int r = dist::rank();
  nn::Linear layer(3, r == 1 ? 5 : 4);
  CHECK_THROWS_WITH_AS(dist::DistributedDataParallel{*layer},
                       doctest::Contains("rank 0 has parameter 'weight' [4, 3], rank 1 has "
                                         "parameter 'weight' [5, 3]"),
                       tg::Error);
  nn::Linear same(3, 4);
  CHECK_NOTHROW(dist::DistributedDataParallel{*same});  // the world still works
}

namespace {
struct Pair : nn::Module {
  nn::Linear fc1{2, 1, false}, fc2{2, 1, false};
  Pair() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  // Rank 0 uses both layers, the others only fc1.
  Variable loss() {
    Variable x(tg::test::make({1, 2}, {1, 2}));
    auto l = tg::sum(fc1(x));
    return tg::distributed::rank() == 0 ? l + tg::sum(fc2(x)) : l;
  }
};
}  // namespace

TEST_CASE("a parameter unused on some rank: an error on every rank, or reduced as zero") {
  const float n = float(dist::world_size());
  Pair model;
  {
    dist::DistributedDataParallel ddp(model);
    CHECK_THROWS_WITH_AS(model.loss().backward(), doctest::Contains("got none for 'fc2.weight'"),
                         tg::Error);
  }
  model.zero_grad();
  dist::DistributedDataParallel ddp(model, {.find_unused_parameters = true});
  model.loss().backward();
  tg::test::check_close(model.fc1->weight.grad(), tg::test::make({1, 2}, {1, 2}), 0, 0);
  tg::test::check_close(model.fc2->weight.grad(), tg::test::make({1, 2}, {1 / n, 2 / n}), 1e-7, 0);
}

TEST_CASE("no_sync: micro-batches accumulate locally; the synced backward averages the sums") {
  const std::size_t r = std::size_t(dist::rank()), n = std::size_t(dist::world_size());
  tg::manual_seed(5);
  SmallCNN model, reference;
  reference.load_state_dict(model.state_dict());
  dist::DistributedDataParallel ddp(model);
  // Rank q's micro-batch m is row q*3 + m... of step m's batch: three micro-batches per rank.
  auto micro = [&](SmallCNN& m, std::size_t rank, int k) {
    auto [x, y] = tg::test::batch(k, rank, rank + 1);
    tg::cross_entropy(m.forward(x), y).backward();
  };
  {
    auto guard = ddp.no_sync();
    micro(model, r, 0);
    micro(model, r, 1);
    // Not averaged yet: the local gradient differs between ranks.
    const tg::Tensor g = dist::all_gather(model.fc->bias.grad());
    CHECK(g(0, 0) != g(1, 0));
  }
  micro(model, r, 2);
  for (std::size_t q = 0; q < n; ++q)
    for (int k = 0; k < 3; ++k) micro(reference, q, k);
  for (auto& [name, p] : reference.named_parameters()) p.grad() /= float(n);
  const auto a = model.named_parameters(), b = reference.named_parameters();
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].first);
    tg::test::check_close(a[i].second.grad(), b[i].second.grad(), 1e-6, 1e-5);
  }
}

TEST_CASE("a parameter resized after wrapping: an error naming it on every rank, not a heap overflow") {
  SmallCNN model;
  {
    dist::DistributedDataParallel ddp(model);
    // Before the check every rank copied 6 x 36 gradients into a bucket laid out for 5 x 36.
    model.fc->weight.value() = tg::filled({6, 36}, 0.0f);
    model.fc->bias.value() = tg::filled({6}, 0.0f);
    auto [x, y] = tg::test::batch(0, 0, 2);
    CHECK_THROWS_WITH_AS(tg::cross_entropy(model.forward(x), y).backward(),
                         doctest::Contains("parameter 'fc.weight' changed shape from [5, 36] to [6, 36] after "
                                           "wrapping"),
                         tg::Error);
  }
  model.zero_grad();
  dist::DistributedDataParallel again(model);  // re-created: trains, and the world still works
  auto [x, y] = tg::test::batch(0, 0, 2);
  tg::cross_entropy(model.forward(x), y).backward();
  const tg::Tensor g = dist::all_gather(model.fc->bias.grad());
  for (int q = 1; q < dist::world_size(); ++q) CHECK(g(q, 5) == g(0, 5));
}

TEST_CASE("a parameter added after wrapping: an error naming it on every rank") {
  SmallCNN model;
  dist::DistributedDataParallel ddp(model);
  model.register_parameter("temperature", Variable(tg::filled({1}, 1.0f)));
  auto [x, y] = tg::test::batch(0, 0, 2);
  CHECK_THROWS_WITH_AS(tg::cross_entropy(model.forward(x), y).backward(),
                       doctest::Contains("parameter 'temperature' [1] was added or unfrozen"),
                       tg::Error);
}

TEST_CASE("options that differ across ranks: an error at construction naming both values") {
  const int r = dist::rank();
  SmallCNN model;
  auto wrap = [&](dist::DDPOptions options) { dist::DistributedDataParallel ddp(model, options); };
  CHECK_THROWS_WITH_AS(wrap({.bucket_cap_mb = r == 1 ? 10.0 : 25.0}),
                       doctest::Contains("rank 0 has options {bucket_cap_mb = 25"), tg::Error);
  CHECK_THROWS_WITH_AS(wrap({.broadcast_buffers = r != 1}),
                       doctest::Contains("rank 1 has options {bucket_cap_mb = 25, first_bucket_cap_mb "
                                         "= 1, find_unused_parameters = 0, broadcast_buffers = 0}"),
                       tg::Error);
  CHECK_NOTHROW(wrap({.bucket_cap_mb = 10}));
}

TEST_CASE("an optimizer step inside no_sync: an error on every rank at the synchronised backward") {
  SmallCNN model;
  dist::DistributedDataParallel ddp(model);
  tg::optim::SGD opt(model.parameters(), {.lr = 0.1});
  const std::size_t r = std::size_t(dist::rank());
  auto micro = [&](int k) {
    auto [x, y] = tg::test::batch(k, r, r + 1);
    tg::cross_entropy(model.forward(x), y).backward();
  };
  {
    auto guard = ddp.no_sync();
    micro(0);
    if (r == 1) opt.step();  // local gradients: rank 1's replica leaves the others
  }
  CHECK_THROWS_WITH_AS(micro(1),
                       doctest::Contains("expected no optimizer step inside no_sync(), got "
                                         "parameter 'conv.weight' changed there on rank 1"),
                       tg::Error);
  {  // stepping after the synchronised backward is the right use
    opt.zero_grad();
    auto guard = ddp.no_sync();
    micro(2);
  }
  micro(3);
  CHECK_NOTHROW(opt.step());
}
