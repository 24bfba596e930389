#pragma once
/// @file
/// Callbacks run after every completed backward pass, on the thread that ran it. Data-parallel
/// training (distributed/) waits for its gradient allreduces here; autograd itself needs none.
#include <cstdint>
#include <functional>

namespace tg {

/// Registers fn to run after each backward() that completes (not after one that throws);
/// returns an id for remove_post_backward_callback. fn may throw: backward() rethrows it.
std::uint64_t add_post_backward_callback(std::function<void()> fn);
/// Unregisters the callback `id` (no-op for an unknown id).
void remove_post_backward_callback(std::uint64_t id);
/// Runs the registered callbacks in registration order (the engine calls it).
void run_post_backward_callbacks();

}  // namespace tg
