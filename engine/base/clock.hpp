// Time: monotonic for measuring downtime and latencies, any clock for
// carrying timers' deadlines across a migration.
#pragma once

#include <time.h>

#include <cstdint>

namespace lmig {

inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t now_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline timespec to_timespec(uint64_t ns) {
  return {static_cast<time_t>(ns / 1000000000ull), static_cast<long>(ns % 1000000000ull)};
}

inline double ns_to_ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

} // namespace lmig
