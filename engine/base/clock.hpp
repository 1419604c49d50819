// Monotonic time for measuring downtime and latencies.
#pragma once

#include <time.h>

#include <cstdint>

namespace lmig {

inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline double ns_to_ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

} // namespace lmig
