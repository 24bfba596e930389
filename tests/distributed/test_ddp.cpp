// DistributedDataParallel in a world of one: buckets in reverse registration order with a
// small first bucket, gradients as a plain backward gives them, the unused-parameter error and
// find_unused_parameters, no_sync, frozen parameters left out, nothing after destruction, and
// parameters changed after wrapping reported by name.
#include <doctest/doctest.h>

#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/nn/nn.hpp>
#include "test_util.hpp"

namespace {

namespace nn = tg::nn;
using tg::Variable;
using tg::distributed::DistributedDataParallel;

// Two layers; `use_second` false leaves fc2 out of the loss.
struct TwoLayers : nn::Module {
  nn::Linear fc1{8, 16}, fc2{16, 4};
  TwoLayers() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Variable loss(const Variable& x, bool use_second = true) {
    auto h = tg::relu(fc1(x));
    return use_second ? tg::sum(fc2(h)) : tg::sum(h);
  }
};

Variable input() { return Variable(tg::test::uniform({3, 8}, -1, 1, 11)); }

}  // namespace

TEST_CASE("buckets: reverse registration order, the first one small") {
  TwoLayers model;  // fc1.weight 512 B, fc1.bias 64 B, fc2.weight 256 B, fc2.bias 16 B
  DistributedDataParallel ddp(model, {.bucket_cap_mb = 500.0 / (1 << 20),
                                      .first_bucket_cap_mb = 300.0 / (1 << 20)});
  const auto buckets = ddp.bucket_names();
  REQUIRE(buckets.size() == 3);
  CHECK(buckets[0] == std::vector<std::string>{"fc2.bias", "fc2.weight"});
  CHECK(buckets[1] == std::vector<std::string>{"fc1.bias"});
  CHECK(buckets[2] == std::vector<std::string>{"fc1.weight"});
  DistributedDataParallel one(model);  // 25 MB: everything after the 1 MB first bucket fits
  CHECK(one.bucket_names().size() == 1);
  CHECK_THROWS_WITH_AS(DistributedDataParallel(model, {.bucket_cap_mb = 0}),
                       doctest::Contains("expected bucket_cap_mb and first_bucket_cap_mb > 0"),
                       tg::Error);
}

TEST_CASE("world of one: gradients are those of a plain backward") {
  TwoLayers model, reference;
  reference.load_state_dict(model.state_dict());
  DistributedDataParallel ddp(model);
  model.loss(input()).backward();
  reference.loss(input()).backward();
  for (const char* name : {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}) {
    CAPTURE(name);
    Variable a, b;
    for (auto& [n, p] : model.named_parameters()) if (n == name) a = p;
    for (auto& [n, p] : reference.named_parameters()) if (n == name) b = p;
    tg::test::check_close(a.grad(), b.grad(), 0, 0);
  }
}

TEST_CASE("a parameter without a gradient: an error naming it, or with find_unused left as is") {
  TwoLayers model;
  {
    DistributedDataParallel ddp(model);
    CHECK_THROWS_WITH_AS(model.loss(input(), false).backward(),
                         doctest::Contains("got none for 'fc2.weight'"), tg::Error);
    model.zero_grad();
    model.loss(input()).backward();  // the next pass starts clean
    CHECK(model.fc2->weight.has_grad());
  }
  model.zero_grad();
  DistributedDataParallel ddp(model, {.find_unused_parameters = true});
  model.loss(input(), false).backward();
  CHECK(model.fc1->weight.has_grad());
  CHECK_FALSE(model.fc2->weight.has_grad());
}

TEST_CASE("no_sync skips the checks; frozen parameters are left out; a destroyed DDP does nothing") {
  TwoLayers model;
  model.fc2->weight.set_requires_grad(false);
  model.fc2->bias.set_requires_grad(false);
  {
    DistributedDataParallel ddp(model);
    model.loss(input(), false).backward();  // fc2 frozen: not expected to get a gradient
    model.fc2->bias.set_requires_grad(true);
  }
  DistributedDataParallel ddp(model);
  {
    auto guard = ddp.no_sync();
    model.loss(input(), false).backward();  // fc2.bias unused, but no reduction: no check
  }
  CHECK_THROWS_AS(model.loss(input(), false).backward(), tg::Error);
  // A backward that does not touch the model is not DDP's business.
  Variable other(tg::filled({2}, 1.0f), true);
  tg::sum(other * other).backward();
  CHECK(other.grad()(0) == 2.0f);
}

TEST_CASE("a parameter resized, added, unfrozen or frozen after wrapping: an error naming it") {
  // The buckets are laid out at construction; before the check, a resized parameter's gradient
  // was copied past its bucket (a heap overflow in a world of more than one).
  TwoLayers model;
  {
    DistributedDataParallel ddp(model);
    model.fc2->weight.value() = tg::filled({5, 16}, 0.0f);
    model.fc2->bias.value() = tg::filled({5}, 0.0f);
    CHECK_THROWS_WITH_AS(model.loss(input()).backward(),
                         doctest::Contains("parameter 'fc2.weight' changed shape from [4, 16] to [5, 16] "
                                           "after wrapping"),
                         tg::Error);
    CHECK_THROWS_WITH_AS(model.loss(input()).backward(),  // every pass, not only the first
                         doctest::Contains("re-create the DistributedDataParallel wrapper"),
                         tg::Error);
  }
  model.zero_grad();
  {
    DistributedDataParallel ddp(model);  // re-created: the new shapes are its layout
    model.loss(input()).backward();
    CHECK(model.fc2->bias.grad().shape() == tg::Shape{5});
  }
  model.zero_grad();
  {
    DistributedDataParallel ddp(model);
    model.register_parameter("scale", Variable(tg::filled({1}, 2.0f)));
    CHECK_THROWS_WITH_AS(model.loss(input()).backward(),
                         doctest::Contains("parameter 'scale' [1] was added or unfrozen"),
                         tg::Error);
  }
  model.zero_grad();
  TwoLayers frozen;
  frozen.fc1->bias.set_requires_grad(false);
  {
    DistributedDataParallel ddp(frozen);
    frozen.fc1->bias.set_requires_grad(true);
    CHECK_THROWS_WITH_AS(frozen.loss(input()).backward(),
                         doctest::Contains("parameter 'fc1.bias' [16] was added or unfrozen"),
                         tg::Error);
  }
  frozen.zero_grad();
  DistributedDataParallel ddp(frozen);
  frozen.fc1->weight.set_requires_grad(false);
  CHECK_THROWS_WITH_AS(frozen.loss(input()).backward(),
                       doctest::Contains("parameter 'fc1.weight' [16, 8] was frozen"), tg::Error);
}
