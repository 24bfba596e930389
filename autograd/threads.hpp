#pragma once
/// @file
/// One owner of the threads: OpenMP. OpenBLAS is its OpenMP build, so a GEMM called inside one
/// of our parallel loops runs single-threaded and a GEMM called outside uses the same threads.
///
/// The thread count is process-wide, as torch.set_num_threads: set_num_threads(n) in any thread
/// applies to every thread, std::threads started later included (OpenMP's own setting is per
/// thread, so tapegrad keeps the count itself and passes it to each parallel region and GEMM).
#include <cstdint>
#include <functional>

namespace tg {

/// Sets the threads tapegrad computes with, in every thread (OpenMP and OpenBLAS alike); n >= 1.
void set_num_threads(int n);
/// The threads tapegrad computes with in the calling thread: the last set_num_threads (from any
/// thread), else OMP_NUM_THREADS if set, else all cores; at most the calling thread's limit.
int get_num_threads();
/// Limits the calling thread alone to at most n threads (0 lifts the limit): DataLoader workers
/// use 1, so that a transform never starts a team of its own next to the training thread's.
void set_thread_limit(int n);

/// Calls fn(begin, end) on contiguous chunks of [0, n) in parallel, each at least `grain` long
/// (runs inline when n < 2 * grain or inside another parallel region).
void parallel_for(std::int64_t n, std::int64_t grain,
                  const std::function<void(std::int64_t begin, std::int64_t end)>& fn);

namespace detail {
/// Makes the calling thread's OpenMP setting (which OpenBLAS reads) equal get_num_threads();
/// called before every GEMM. Cheap: a thread-local comparison when nothing changed.
void sync_blas_threads();
}  // namespace detail

}  // namespace tg
