#include "tapegrad/autograd/threads.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>

#include "tapegrad/autograd/error.hpp"

namespace tg {

namespace {
// OpenMP's default (OMP_NUM_THREADS, else the cores), read once while the library loads (below),
// before any thread could have changed its own setting.
int default_threads() {
  static const int n = omp_get_max_threads();
  return n;
}
[[maybe_unused]] const int read_at_load = default_threads();
// 0 until set_num_threads: then the count for every thread.
std::atomic<int> global_threads{0};
// Per thread: the limit of set_thread_limit (0: none) and what this thread last told OpenMP.
thread_local int thread_limit = 0;
thread_local int told_openmp = 0;
}  // namespace

void set_num_threads(int n) {
  TG_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, got ", n);
  global_threads.store(n, std::memory_order_relaxed);
  openblas_set_num_threads(n);  // for a non-OpenMP OpenBLAS; the OpenMP build follows OpenMP
  detail::sync_blas_threads();
}

int get_num_threads() {
  const int global = global_threads.load(std::memory_order_relaxed);
  const int n = global > 0 ? global : default_threads();
  return thread_limit > 0 ? std::min(n, thread_limit) : n;
}

void set_thread_limit(int n) {
  TG_CHECK(n >= 0, "set_thread_limit: expected a limit >= 0 (0 lifts it), got ", n);
  thread_limit = n;
  detail::sync_blas_threads();
}

void detail::sync_blas_threads() {
  const int n = get_num_threads();
  if (told_openmp == n) return;
  // OpenBLAS's OpenMP build reads the calling thread's OpenMP setting at every call.
  omp_set_num_threads(n);
  told_openmp = n;
}

void parallel_for(std::int64_t n, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
  const std::int64_t chunks = std::min<std::int64_t>(get_num_threads(), n / grain);
  if (chunks < 2 || omp_in_parallel()) {
    fn(0, n);
    return;
  }
  // An exception must not escape an OpenMP region: keep the first and rethrow it here.
  std::exception_ptr failure;
#pragma omp parallel for num_threads(chunks) schedule(static, 1)
  for (std::int64_t c = 0; c < chunks; ++c) {
    try {
      fn(n * c / chunks, n * (c + 1) / chunks);
    } catch (...) {
#pragma omp critical(tapegrad_parallel_for)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace tg
