// Whether this host can take the memory a migration brings, asked when its
// hello arrives, before the source freezes anything: a process that does
// not fit would be OOM-killed halfway through post-copy. The restored
// process lands in lmigd's own memory cgroup, so what counts is the least
// of what the kernel says is available (MemAvailable) and what is left
// under the limit of that cgroup and each of its ancestors (cgroup v2
// memory.max - memory.current, or v1 memory.limit_in_bytes -
// memory.usage_in_bytes).
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/error.hpp"

namespace lmig {

struct MemoryRoom {
  uint64_t bytes = UINT64_MAX; // what a restore may still allocate here
  std::string limited_by;      // "MemAvailable", or the cgroup whose limit it is
};

MemoryRoom memory_room();

// An error naming what is needed and what limits it, when `bytes` do not fit.
Status admit_memory(uint64_t bytes);

} // namespace lmig
