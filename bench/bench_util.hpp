#pragma once
// The timing protocol of every tapegrad benchmark: warm up (at least 3 calls and 0.3 s), then
// 7 repetitions of a batch of back-to-back calls lasting about 0.2 s; median and minimum per call.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace tg::bench {

struct Timing {
  double median_s = 0, min_s = 0;
};

template <class Fn>
Timing time_it(Fn&& fn) {
  using clock = std::chrono::steady_clock;
  auto seconds_since = [](clock::time_point t) {
    return std::chrono::duration<double>(clock::now() - t).count();
  };
  const auto warm_start = clock::now();
  int warm_calls = 0;
  while (warm_calls < 3 || seconds_since(warm_start) < 0.3) {
    fn();
    ++warm_calls;
  }
  const double per_call = seconds_since(warm_start) / warm_calls;
  const int batch = std::max(1, static_cast<int>(0.2 / per_call));
  std::vector<double> reps;
  for (int r = 0; r < 7; ++r) {
    const auto start = clock::now();
    for (int i = 0; i < batch; ++i) fn();
    reps.push_back(seconds_since(start) / batch);
  }
  std::sort(reps.begin(), reps.end());
  return {reps[3], reps[0]};
}

}  // namespace tg::bench
