#include "tapegrad/autograd/backward_callbacks.hpp"

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

namespace tg {

namespace {
struct Registry {
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> callbacks;
  std::uint64_t next_id = 1;
  std::atomic<bool> any{false};  // lets a backward with no callbacks skip the lock
};
Registry& registry() {
  static Registry r;
  return r;
}
}  // namespace

std::uint64_t add_post_backward_callback(std::function<void()> fn) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const std::uint64_t id = r.next_id++;
  r.callbacks.emplace_back(id, std::move(fn));
  r.any = true;
  return id;
}

void remove_post_backward_callback(std::uint64_t id) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.callbacks, [id](const auto& entry) { return entry.first == id; });
  r.any = !r.callbacks.empty();
}

void run_post_backward_callbacks() {
  Registry& r = registry();
  if (!r.any) return;
  std::vector<std::function<void()>> copy;  // a callback may (un)register callbacks
  {
    std::lock_guard lock(r.mutex);
    for (const auto& entry : r.callbacks) copy.push_back(entry.second);
  }
  for (auto& fn : copy) fn();
}

}  // namespace tg
