#include "tapegrad/autograd/autocast.hpp"

#include "tapegrad/autograd/kernels/gemm_bf16.hpp"

namespace tg {

namespace {
thread_local bool autocast_on = false;
}  // namespace

namespace autocast {

void set_enabled(bool enabled) { autocast_on = enabled; }

bool is_enabled() { return autocast_on; }

bool bf16_active() { return autocast_on && kernels::bf16_decision().use_bf16; }

std::string kernel_choice() { return kernels::bf16_decision().reason; }

}  // namespace autocast

AutocastGuard::AutocastGuard(bool enabled) : previous_(autocast_on) { autocast_on = enabled; }

AutocastGuard::~AutocastGuard() { autocast_on = previous_; }

}  // namespace tg
