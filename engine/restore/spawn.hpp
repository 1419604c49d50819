// Creates the process tree that a restore runs in: a fresh PID namespace
// whose init is a tiny reaper owned by lmigd, and inside it the restore
// child with the original PID (clone3 set_tid). The restore child opens the
// saved fds, enters the saved cwd, and jumps into the restorer.
//
// Everything after clone runs without allocating (lmigd is multi-threaded):
// it only executes the RestorePlan prepared beforehand.
#pragma once

#include <sys/types.h>

#include "engine/base/error.hpp"
#include "engine/base/unique_fd.hpp"
#include "engine/restore/restore_plan.hpp"

namespace lmig {

struct RestoreTree {
  pid_t init_pid = -1;  // the namespace's init, in our namespace
  UniqueFd init_pidfd;
  UniqueFd ctl;         // SOCK_SEQPACKET to the init and the restore child
};

// Extra control message: the init tells lmigd the restore child exists.
inline constexpr uint32_t kMsgSpawned = 100;
inline constexpr uint32_t kStepSpawn = 50;

Result<RestoreTree> spawn_restore_tree(RestorePlan &plan);

} // namespace lmig
