// Captures the image of a frozen process: layout, fds, signals, limits,
// credentials, mm fields, registers and the inventory of its pages.
#pragma once

#include <map>
#include <utility>

#include "engine/base/error.hpp"
#include "engine/capture/freezer.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/image/image.hpp"

namespace lmig {

// smaps_before: what precheck read (reused if the layout is unchanged).
// With anon_inventory false (post-copy), the image lists only the pages of
// private file mappings; anonymous memory is inventoried after the
// switchover (inventory_anon), keeping that walk out of the downtime.
// Shared memory inodes (st_dev, st_ino) -> slot of the tree's files.
using SharedInodes = std::map<std::pair<uint64_t, uint64_t>, int32_t>;

// shared_slots: its fds shared with the rest of its tree; shared_contents:
// shared memory it maps that others reach too (both made by the root).
Result<ProcessImage> capture_process(FrozenProcess &frozen,
                                     const std::vector<MapsEntry> &smaps_before,
                                     bool anon_inventory,
                                     const std::map<int, int32_t> *shared_slots = nullptr,
                                     const SharedInodes *shared_contents = nullptr);

} // namespace lmig
