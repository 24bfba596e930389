#include "tapegrad/autograd/random.hpp"

#include "tapegrad/autograd/error.hpp"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numbers>

namespace tg {

namespace {
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Generator Generator::derive(std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
  // Each component passes through splitmix so that nearby (a, b) give unrelated streams.
  std::uint64_t state = seed;
  std::uint64_t mixed = splitmix64(state);
  state = mixed ^ a;
  mixed = splitmix64(state);
  state = mixed ^ b;
  return Generator(splitmix64(state));
}

void Generator::seed_with(std::uint64_t seed) {
  std::uint64_t state = seed;
  for (auto& word : s_) word = splitmix64(state);
  has_spare_ = false;
}

std::uint64_t Generator::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

float Generator::uniform() {
  // The top 24 bits: every float in [0, 1) on a 2^-24 grid, never 1.
  return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f;
}

float Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  // Box-Muller in double; u1 is kept away from 0 so log stays finite.
  const double u1 = (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53;
  const double u2 = static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_normal_ = static_cast<float>(radius * std::sin(angle));
  has_spare_ = true;
  return static_cast<float>(radius * std::cos(angle));
}

std::uint64_t Generator::below(std::uint64_t n) {
  if (n <= 1) return 0;
  // Rejection keeps the draw unbiased for any n.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x;
  do x = next_u64(); while (x >= limit);
  return x % n;
}

std::string Generator::state() const {
  std::uint32_t spare_bits;
  std::memcpy(&spare_bits, &spare_normal_, sizeof spare_bits);
  char text[96];
  std::snprintf(text, sizeof text, "%016llx %016llx %016llx %016llx %08x %d",
                static_cast<unsigned long long>(s_[0]), static_cast<unsigned long long>(s_[1]),
                static_cast<unsigned long long>(s_[2]), static_cast<unsigned long long>(s_[3]),
                spare_bits, has_spare_ ? 1 : 0);
  return text;
}

void Generator::set_state(const std::string& state) {
  unsigned long long words[4];
  unsigned spare_bits;
  int has_spare, consumed = 0;
  const int fields = std::sscanf(state.c_str(), "%16llx %16llx %16llx %16llx %8x %d%n", &words[0],
                                 &words[1], &words[2], &words[3], &spare_bits, &has_spare, &consumed);
  TG_CHECK(fields == 6 && std::size_t(consumed) == state.size() && (has_spare == 0 || has_spare == 1) &&
               (words[0] | words[1] | words[2] | words[3]) != 0,
           "Generator::set_state: expected the text of Generator::state(), got '", state, "'");
  for (int i = 0; i < 4; ++i) s_[i] = words[i];
  std::memcpy(&spare_normal_, &spare_bits, sizeof spare_bits);
  has_spare_ = has_spare == 1;
}

namespace {
// The seed a thread's default generator starts from: the last manual_seed of any thread.
std::atomic<std::uint64_t> global_seed{0};
}  // namespace

Generator& default_generator() {
  // One per thread (see random.hpp): no lock on the hot path and no cross-thread interleaving.
  thread_local Generator generator(global_seed.load(std::memory_order_relaxed));
  return generator;
}

void manual_seed(std::uint64_t seed) {
  global_seed.store(seed, std::memory_order_relaxed);
  default_generator().seed_with(seed);
}

}  // namespace tg
