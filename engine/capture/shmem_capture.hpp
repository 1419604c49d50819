// Shared anonymous memory and memfd mappings: which shmem inode each maps,
// and that inode's bytes. A memfd the process also holds open keeps the
// contents its fd already has; any other inode's contents are read through
// /proc/PID/map_files (a new open of the inode: nothing the process sees
// changes).
#pragma once

#include <sys/types.h>

#include <map>
#include <utility>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/capture/fd_capture.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/image/image.hpp"

namespace lmig {

// vmas: capture_vmas(maps). Appends to fds.contents what only mappings
// reach; returns one ShmemMapImage per shmem VMA. Without read_data only
// sizes are checked (the dry run). shared: inodes (st_dev, st_ino) other
// processes of the tree reach too, by slot of the tree's files: named, not
// read (ContentsImage::shared_slot).
Result<std::vector<ShmemMapImage>> capture_shmem(
    pid_t pid, const std::vector<MapsEntry> &maps, const std::vector<VmaImage> &vmas,
    FdTable &fds, bool read_data,
    const std::map<std::pair<uint64_t, uint64_t>, int32_t> *shared = nullptr);

} // namespace lmig
