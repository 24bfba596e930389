#pragma once
// Shared by the multi-process tests: a global batch every rank can rebuild, a 10-step SGD run on
// rows of it, and a comparison of two models' parameters.
#include <tapegrad/distributed/comm.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include "test_util.hpp"

namespace tg::test {

constexpr std::size_t kBatch = 8;

// Rows [begin, end) of step `step`'s global batch (the same numbers on every rank).
inline std::pair<Variable, tg::Labels> batch(int step, std::size_t begin, std::size_t end) {
  const tg::Tensor all = tg::test::uniform({kBatch, 1, 8, 8}, -1, 1, 1000 + std::uint64_t(step));
  tg::Tensor x = tg::empty_tensor({end - begin, 1, 8, 8});
  std::copy(all.data() + begin * 64, all.data() + end * 64, x.data());
  tg::Labels y = tg::Labels::from_shape({end - begin});
  for (std::size_t i = begin; i < end; ++i) y(i - begin) = std::int64_t((3 * i + std::size_t(step)) % 5);
  return {Variable(x), y};
}

// Trains `model` 10 steps on rows [begin, end); returns each step's loss.
template <class Model>
std::vector<float> train(Model& model, std::size_t begin, std::size_t end) {
  tg::optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
  std::vector<float> losses;
  for (int step = 0; step < 10; ++step) {
    opt.zero_grad();
    auto [x, y] = batch(step, begin, end);
    auto loss = tg::cross_entropy(model.forward(x), y);
    loss.backward();
    opt.step();
    losses.push_back(loss.item());
  }
  return losses;
}

// Parameters and buffers (running statistics) of a and b within 1e-5 + 1e-4 * |b|.
inline void check_same_state(const nn::Module& a, const nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  const auto ba = a.named_buffers(), bb = b.named_buffers();
  pa.insert(pa.end(), ba.begin(), ba.end());
  pb.insert(pb.end(), bb.begin(), bb.end());
  REQUIRE(pa.size() == pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i].first);
    tg::test::check_close(pa[i].second.value(), pb[i].second.value(), 1e-5, 1e-4);
  }
}

// A fresh folder that every rank sees (made by rank 0; the ranks share a file system here).
inline std::filesystem::path shared_temp_dir(const std::string& name) {
  if (tg::distributed::rank() == 0) tg::test::temp_dir(name);
  tg::distributed::barrier();
  const char* root = std::getenv("TAPEGRAD_TEST_TMP");
  return (root ? std::filesystem::path(root) : std::filesystem::temp_directory_path()) /
         ("tapegrad_" + name);
}

// The mean over ranks of each step's local loss is the global batch's loss.
inline void check_global_losses(const std::vector<float>& local, const std::vector<float>& reference) {
  REQUIRE(local.size() == reference.size());
  for (std::size_t s = 0; s < local.size(); ++s) {
    tg::Tensor l = tg::filled({1}, local[s]);
    tg::distributed::all_reduce(l, tg::distributed::ReduceOp::Avg);
    CHECK(l(0) == doctest::Approx(reference[s]).epsilon(1e-4));
  }
}

}  // namespace tg::test
