// The distributed sampler: every rank the same number of samples, each index exactly once per
// epoch across ranks apart from the padding (which repeats the permutation's first indices),
// truncation with drop_last, the permutation from (seed, epoch), checks of rank and world size.
#include <doctest/doctest.h>

#include <map>

#include <tapegrad/autograd/error.hpp>
#include <tapegrad/data/sampler.hpp>

using tg::data::epoch_indices;
using tg::data::SamplerOptions;

namespace {
// Every rank's indices, concatenated rank-major.
std::vector<std::vector<std::size_t>> all_ranks(std::size_t n, SamplerOptions o, std::uint64_t epoch) {
  std::vector<std::vector<std::size_t>> out;
  for (int r = 0; r < o.world_size; ++r) {
    o.rank = r;
    out.push_back(epoch_indices(n, o, epoch));
  }
  return out;
}
}  // namespace

TEST_CASE("world of one: the permutation itself") {
  const auto plain = epoch_indices(5, {}, 0);
  CHECK(plain == std::vector<std::size_t>{0, 1, 2, 3, 4});
  const auto a = epoch_indices(50, {.shuffle = true, .seed = 3}, 2);
  CHECK(a == epoch_indices(50, {.shuffle = true, .seed = 3}, 2));
  CHECK(a != epoch_indices(50, {.shuffle = true, .seed = 3}, 3));
  CHECK(a != plain);
}

TEST_CASE("uneven sizes: every index once, padding repeats the permutation's first indices") {
  for (std::size_t n : {10u, 11u, 13u, 2u, 1u}) {
    for (int world : {2, 3, 4}) {
      CAPTURE(n);
      CAPTURE(world);
      const SamplerOptions o{.shuffle = true, .seed = 7, .world_size = world};
      const auto ranks = all_ranks(n, o, 1);
      const std::size_t per = (n + std::size_t(world) - 1) / std::size_t(world);
      std::map<std::size_t, int> count;
      for (const auto& r : ranks) {
        CHECK(r.size() == per);
        for (std::size_t i : r) ++count[i];
      }
      CHECK(count.size() == n);  // none missing
      const auto perm = epoch_indices(n, {.shuffle = true, .seed = 7}, 1);
      std::size_t extra = 0;
      for (auto [i, c] : count) extra += std::size_t(c - 1);
      CHECK(extra == per * std::size_t(world) - n);
      // Rank r takes entries r, r+R... of the permutation padded from its start.
      for (int r = 0; r < world; ++r)
        for (std::size_t k = 0; k < per; ++k)
          CHECK(ranks[std::size_t(r)][k] == perm[(std::size_t(r) + k * std::size_t(world)) % n]);
    }
  }
}

TEST_CASE("drop_last truncates to a multiple of the world size") {
  const SamplerOptions o{.drop_last = true, .world_size = 3};
  const auto ranks = all_ranks(11, o, 0);
  CHECK(ranks[0] == std::vector<std::size_t>{0, 3, 6});
  CHECK(ranks[1] == std::vector<std::size_t>{1, 4, 7});
  CHECK(ranks[2] == std::vector<std::size_t>{2, 5, 8});
  CHECK(tg::data::samples_per_rank(11, o) == 3);
  CHECK(tg::data::samples_per_rank(11, {.world_size = 3}) == 4);
}

TEST_CASE("ranks agree on the permutation, which changes with the epoch (set_epoch)") {
  const SamplerOptions o{.shuffle = true, .seed = 1, .world_size = 2};
  const auto e0 = all_ranks(20, o, 0), e1 = all_ranks(20, o, 1);
  CHECK(e0 != e1);
  CHECK(e0 == all_ranks(20, o, 0));
}

TEST_CASE("a rank outside [0, world_size) or a world size below 1 is an error") {
  CHECK_THROWS_WITH_AS(epoch_indices(5, {.world_size = 2, .rank = 2}, 0),
                       doctest::Contains("expected rank in [0, 2)"), tg::Error);
  CHECK_THROWS_WITH_AS(epoch_indices(5, {.world_size = 0}, 0),
                       doctest::Contains("expected world_size >= 1, got 0"), tg::Error);
}

TEST_CASE("without padding: each index on exactly one rank, counts differing by at most one") {
  std::map<std::size_t, int> count;
  for (int r = 0; r < 4; ++r) {
    const SamplerOptions o{.shuffle = true, .seed = 2, .world_size = 4, .rank = r, .pad = false};
    const auto mine = epoch_indices(10, o, 0);
    CHECK(mine.size() == (r < 2 ? 3u : 2u));
    CHECK(tg::data::samples_per_rank(10, o) == mine.size());
    for (std::size_t i : mine) ++count[i];
  }
  CHECK(count.size() == 10);
  for (auto [i, c] : count) CHECK(c == 1);
}
