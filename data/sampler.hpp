#pragma once
/// @file
/// Which samples an epoch visits, in which order, for one rank of a data-parallel job
/// (PyTorch's DistributedSampler). Plain numbers: data knows nothing of MPI.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tg::data {

/// How DataLoader picks an epoch's samples (a subset of DataLoaderOptions).
struct SamplerOptions {
  bool shuffle = false;    ///< permutation of (seed, epoch); the same on every rank
  bool drop_last = false;  ///< truncate to a multiple of world_size instead of padding
  std::uint64_t seed = 0;  ///< with the epoch, fixes the shuffle
  int world_size = 1;      ///< number of ranks sharing the dataset
  int rank = 0;            ///< this rank, in [0, world_size)
  bool pad = true;         ///< false: no padding or truncation, each index on exactly one rank
                           ///< (ranks may differ by one sample: evaluation, not DDP training)
};

/// Number of samples `options.rank` visits per epoch: ceil(n / world_size), or floor with
/// drop_last; without pad, the entries rank, rank + R... below n.
std::size_t samples_per_rank(std::size_t dataset_size, const SamplerOptions& options);

/// The epoch's indices for options.rank: the permutation (or 0..n-1), padded by repeating its
/// first indices up to samples_per_rank * world_size (or truncated with drop_last), then every
/// world_size-th entry starting at rank. With world_size 1: the whole permutation.
std::vector<std::size_t> epoch_indices(std::size_t dataset_size, const SamplerOptions& options,
                                       std::uint64_t epoch);

/// Throws tg::Error unless 1 <= world_size and 0 <= rank < world_size.
void check_sampler_options(const SamplerOptions& options);

}  // namespace tg::data
