// Lets one event through per interval and counts those it held back, so a
// flood of refusals costs a log line a second instead of one each.
#pragma once

#include <cstdint>
#include <mutex>

namespace lmig {

class RateLimit {
public:
  explicit RateLimit(uint64_t interval_ns) : interval_ns_(interval_ns) {}

  // True when the event at now_ns may be reported; `held` is then how many
  // were held back since the last one that was.
  bool allow(uint64_t now_ns, uint64_t &held) {
    std::lock_guard lock(mu_);
    if (reported_ && now_ns - last_ns_ < interval_ns_) {
      held_++;
      return false;
    }
    reported_ = true;
    last_ns_ = now_ns;
    held = held_;
    held_ = 0;
    return true;
  }

private:
  std::mutex mu_;
  const uint64_t interval_ns_;
  bool reported_ = false;
  uint64_t last_ns_ = 0;
  uint64_t held_ = 0;
};

} // namespace lmig
