#pragma once
/// @file
/// One exception type for user errors, one macro to raise it, one for internal invariants.
#include <sstream>
#include <stdexcept>
#include <string>

namespace tg {

/// Bad input: the message names the op, what it expected and what it got.
struct Error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace tg

/// TG_CHECK(cond, "op: expected ..., got ", shape_str(s)): throws tg::Error when cond is false.
#define TG_CHECK(cond, ...) \
  do { if (!(cond)) throw ::tg::Error(::tg::detail::concat(__VA_ARGS__)); } while (0)

/// TG_ASSERT(cond, ...): an internal invariant; failing it is a bug in tapegrad, not in the caller.
#define TG_ASSERT(cond, ...)                                                                  \
  do {                                                                                        \
    if (!(cond))                                                                              \
      throw std::logic_error(::tg::detail::concat("tapegrad internal error (", __FILE__, ":", \
                                                  __LINE__, "): ", __VA_ARGS__));             \
  } while (0)
