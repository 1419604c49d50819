// Which pages a process holds: read from /proc/PID/pagemap for its anonymous
// memory and the private (copied-on-write) pages of its file mappings.
// Shared file pages live in the file and never travel.
#pragma once

#include <sys/types.h>

#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

// guards (optional): the guard pages (MADV_GUARD_INSTALL) found on the
// way, which pagemap shows as swapped out (bit 62) and as a guard (bit 58):
// they hold no data and are never pages.
Result<std::vector<PageRun>> page_inventory(pid_t pid, const std::vector<VmaImage> &vmas,
                                            std::vector<PageRun> *guards = nullptr);

} // namespace lmig
