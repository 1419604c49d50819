// Turns a process's smaps into image VMAs, refusing by name any mapping lmig
// cannot move yet.
#pragma once

#include <sys/types.h>

#include <vector>

#include "engine/base/error.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/image/image.hpp"

namespace lmig {

Result<std::vector<VmaImage>> capture_vmas(const std::vector<MapsEntry> &maps);

// Locked memory of a process (VmLck), in KiB.
Result<uint64_t> locked_kib(pid_t pid);

// mlockall(MCL_FUTURE [| MCL_ONFAULT]) leaves no trace in /proc but on the
// mappings made after it: given one just made (the capture's scratch page,
// untouched yet) and the locked memory before it was made, the flags that
// were in force.
Result<uint32_t> future_lock_flags(pid_t pid, uint64_t fresh_mapping, uint64_t locked_before_kib);

} // namespace lmig
