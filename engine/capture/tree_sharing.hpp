// What the members of a process tree share, found on the source so that
// the target can make each shared thing once: open files, the objects
// behind them (pipes, socket pairs, FIFOs, in-memory files) and shared
// memory.
#pragma once

#include <map>
#include <utility>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/capture/fd_capture.hpp"
#include "engine/capture/tree_scan.hpp"

namespace lmig {

// The open files the members of a tree share: an open file two of them
// hold (inherited through fork), every open file of a pipe, socket pair,
// FIFO or in-memory file that two of them reach, and shared memory two of
// them map. Each becomes a slot of the tree's files, made once by the root
// on the target and inherited. Refuses by name what cannot be shared yet:
// an epoll instance (its interest list names fds of one process).
struct TreeSharing {
  std::vector<FdRef> slots;                     // open files: slot, one fd holding it
  std::vector<SharedMapping> mappings;          // shared memory: its slot, one mapping
  std::vector<std::map<int, int32_t>> slot_of;  // per member: its fd -> slot
  std::map<std::pair<uint64_t, uint64_t>, int32_t> contents_slot; // shmem inode -> slot
};
Result<TreeSharing> find_tree_sharing(const ScannedTree &t);

} // namespace lmig
