#pragma once
// Seeded random numbers: one default generator (tg::manual_seed) and independent streams that
// can be derived from a seed and a few integers (a sample's stream from seed, epoch, index).
#include <cstdint>
#include <string>

namespace tg {

/// xoshiro256** with splitmix64 seeding: small, fast, and the same on every platform.
class Generator {
 public:
  /// A stream determined by `seed` alone.
  explicit Generator(std::uint64_t seed = 0) { seed_with(seed); }
  /// A stream determined by (seed, a, b): e.g. (loader seed, epoch, sample index).
  static Generator derive(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0);
  /// Restarts the stream from `seed`.
  void seed_with(std::uint64_t seed);
  /// 64 uniformly random bits.
  std::uint64_t next_u64();
  /// Uniform in [0, 1).
  float uniform();
  /// Uniform in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal (Box-Muller).
  float normal();
  /// Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n);
  /// true with probability p.
  bool bernoulli(float p) { return uniform() < p; }
  /// The stream's position as text (checkpoints save it so a resumed run draws the same).
  std::string state() const;
  /// Restores a position from state(); throws tg::Error for text that is not one.
  void set_state(const std::string& state);

 private:
  std::uint64_t s_[4]{};
  float spare_normal_ = 0.0f;
  bool has_spare_ = false;
};

/// The generator behind randn, rand, init and dropout when none is given.
Generator& default_generator();
/// Reseeds the default generator: runs are reproducible for a given seed and thread count.
void manual_seed(std::uint64_t seed);

}  // namespace tg
