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

} // namespace lmig
