#include "autograd/threads.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <exception>

#include "autograd/error.hpp"

namespace tg {

void set_num_threads(int n) {
  TG_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, got ", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

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
