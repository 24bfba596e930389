#include "tapegrad/data/sampler.hpp"

#include <numeric>
#include <utility>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/random.hpp"

namespace tg::data {

void check_sampler_options(const SamplerOptions& o) {
  TG_CHECK(o.world_size >= 1, "DataLoader: expected world_size >= 1, got ", o.world_size);
  TG_CHECK(o.rank >= 0 && o.rank < o.world_size, "DataLoader: expected rank in [0, ",
           o.world_size, ") (world_size ", o.world_size, "), got ", o.rank);
}

std::size_t samples_per_rank(std::size_t n, const SamplerOptions& o) {
  const std::size_t r = std::size_t(o.world_size);
  if (!o.pad) return n / r + (std::size_t(o.rank) < n % r ? 1 : 0);
  return o.drop_last ? n / r : (n + r - 1) / r;
}

std::vector<std::size_t> epoch_indices(std::size_t n, const SamplerOptions& o,
                                       std::uint64_t epoch) {
  check_sampler_options(o);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (o.shuffle) {
    // Fisher-Yates from a stream of (seed, epoch) that no sample's (seed, epoch, index) hits.
    Generator gen = Generator::derive(o.seed ^ 0x53485546464C45ull, epoch, ~std::uint64_t{0});
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[gen.below(i)]);
  }
  if (o.world_size == 1) return order;
  const std::size_t per_rank = samples_per_rank(n, o), r = std::size_t(o.world_size);
  std::vector<std::size_t> mine(per_rank);
  // Entry rank + k*R of the padded list; padding repeats the list from its start (more than
  // once when the dataset has fewer samples than ranks).
  for (std::size_t k = 0; k < per_rank; ++k) mine[k] = order[(std::size_t(o.rank) + k * r) % n];
  return mine;
}

}  // namespace tg::data
