#pragma once
/// @file
/// What this build of tapegrad is and what it runs on, like torch::show_config(): to print at
/// the start of a program and paste into a bug report or a benchmark's header.
#include <string>

namespace tg {

/// A few lines: the compiler, the instruction set the build targets, the CPU and its vector
/// features, the GEMM library and kernels selected for this CPU, what autocast multiplies in
/// (bf16 or fp32, and why: see autocast.hpp), and the thread count.
std::string build_info();

}  // namespace tg
