#pragma once
// One owner of the threads: OpenMP. OpenBLAS is its OpenMP build, so a GEMM called inside one
// of our parallel loops runs single-threaded and a GEMM called outside uses the same threads.
#include <cstdint>
#include <functional>

namespace tg {

/// Sets the threads tapegrad computes with (OpenMP and OpenBLAS alike); n >= 1.
void set_num_threads(int n);
/// The threads tapegrad computes with: OMP_NUM_THREADS if set, else all cores.
int get_num_threads();

/// Calls fn(begin, end) on contiguous chunks of [0, n) in parallel, each at least `grain` long
/// (runs inline when n < 2 * grain or inside another parallel region).
void parallel_for(std::int64_t n, std::int64_t grain,
                  const std::function<void(std::int64_t begin, std::int64_t end)>& fn);

}  // namespace tg
