#pragma once
// Internal to optim/: runs an elementwise update loop over a parameter, split across threads
// only when the tensor is large enough for that to pay (most parameters are small).
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "tapegrad/autograd/threads.hpp"

namespace tg::optim::detail {

/// Calls fn(begin, end) over [0, n): inline for small n, in parallel chunks for large n.
template <class Fn>
void for_each_chunk(std::size_t n, const Fn& fn) {
  constexpr std::int64_t kGrain = std::int64_t{1} << 15;
  if (static_cast<std::int64_t>(n) < 2 * kGrain) {
    fn(std::size_t{0}, n);
    return;
  }
  tg::parallel_for(static_cast<std::int64_t>(n), kGrain, [&fn](std::int64_t begin, std::int64_t end) {
    fn(static_cast<std::size_t>(begin), static_cast<std::size_t>(end));
  });
}

/// Calls fn(std::bool_constant<f0>{}, std::bool_constant<f1>{}, ...) for runtime flags f0, f1...,
/// so that each combination of options runs its own branch-free loop the compiler vectorises.
template <class Fn>
void with_flags(Fn&& fn) {
  fn();
}
template <class Fn, class... Rest>
void with_flags(Fn&& fn, bool flag, Rest... rest) {
  if (flag) with_flags([&](auto... tail) { fn(std::true_type{}, tail...); }, rest...);
  else with_flags([&](auto... tail) { fn(std::false_type{}, tail...); }, rest...);
}

}  // namespace tg::optim::detail
