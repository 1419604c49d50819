// Decides, without touching the process, whether it can be migrated: the
// PID exists, it is not lmig, init or a kernel thread, and everything it
// holds is something lmig can move. Capture repeats the same checks once
// the process is frozen, since it may have changed in between.
#pragma once

#include <sys/types.h>

#include <map>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/capture/proc_status.hpp"
#include "engine/capture/tree_scan.hpp"

namespace lmig {

// Identity checks only (no fd or memory inspection). frozen_by_us: the
// process is in our ptrace stop, so being stopped and traced is expected.
Result<ProcStatus> check_identity(pid_t pid, bool frozen_by_us = false);
// Identity plus layout and fd checks of one process: the full dry run.
// Returns the smaps it read, which capture reuses when the layout has not
// changed since (reading smaps walks every page table: it is kept out of
// the freeze).
// shared_slots, shared_contents: what it shares with the rest of its tree
// (see capture_process).
Result<std::vector<MapsEntry>> precheck_one(
    pid_t pid, const std::map<int, int32_t> *shared_slots = nullptr,
    const std::map<std::pair<uint64_t, uint64_t>, int32_t> *shared_contents = nullptr);

// The dry run of a whole migration: the process, the tree under it, each
// live member checked alone, and what members share.
struct TreePrecheck {
  ScannedTree scan;
  std::vector<std::vector<MapsEntry>> smaps; // per member (empty for zombies)
};
Result<TreePrecheck> precheck(pid_t pid);

// The same planning over the whole tree, listing every blocker instead of
// stopping at the first: each member's, each fd's (empty: it can move).
std::vector<Error> list_blockers(pid_t pid);

} // namespace lmig
