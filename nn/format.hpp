#pragma once
// How modules print numbers: Python's repr of floats and bools (so that a printed layer reads
// exactly like PyTorch's), and counts with thousands separators.
#include <cstdint>
#include <string>

namespace tg::nn::detail {

/// Python's repr(float): "0.1", "1e-05", "1.0", "1e+16".
std::string py_float(double value);
/// Python's repr(bool): "True" / "False".
inline const char* py_bool(bool value) { return value ? "True" : "False"; }
/// 272474 -> "272,474".
std::string thousands(std::uint64_t value);

}  // namespace tg::nn::detail
