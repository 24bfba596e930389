#pragma once
/// @file
/// Seeded random numbers: a default generator per thread (tg::manual_seed) and independent
/// streams that can be derived from a seed and a few integers (a sample's stream from seed,
/// epoch, index).
///
/// Threads: each thread has its own default generator, so there is no data race and no lock,
/// and a thread's draws do not depend on what other threads draw. manual_seed(s) reseeds the
/// calling thread's generator and makes s the seed of every thread whose generator does not
/// exist yet (it is made at the thread's first draw, from the last manual_seed of any thread, or
/// 0). So two threads that each call manual_seed and then train reproduce their one-at-a-time
/// results; threads that never call manual_seed all start the same stream: call
/// manual_seed(seed + i) in thread i (or pass each a Generator) when they must differ.
/// (PyTorch's CPU default generator is one object shared under a mutex instead: there, threads'
/// draws interleave in scheduling order, and per-thread reproducibility is not possible.)
/// A Generator object itself is not synchronised: share one between threads only under a lock.
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

/// The calling thread's generator behind randn, rand, init and dropout when none is given.
Generator& default_generator();
/// Reseeds the calling thread's default generator, and sets the seed of the default generators
/// of threads that have not drawn yet: runs are reproducible for a given seed and thread count.
void manual_seed(std::uint64_t seed);

}  // namespace tg
