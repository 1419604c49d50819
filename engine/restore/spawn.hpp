// Creates the process tree that a restore runs in: a fresh PID namespace
// whose init is a tiny reaper owned by lmigd, and inside it the restore
// child with the original PID (clone3 set_tid). Each restore child first
// forks its own children of the migrated tree (again with their PIDs; the
// zombies among them exit at once with their saved status), then opens its
// saved fds, enters the saved cwd, and jumps into the restorer.
//
// Everything after clone runs without allocating (lmigd is multi-threaded):
// it only executes the RestorePlan prepared beforehand.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/base/unique_fd.hpp"
#include "engine/restore/restore_plan.hpp"

namespace lmig {

// One process of the tree to spawn. A zombie has no plan.
struct SpawnMember {
  RestorePlan *plan = nullptr;
  pid_t pid = 0;         // as the tree sees itself
  pid_t pgid = 0;
  pid_t sid = 0;         // its own pid: it leads a session of its own
  int parent = -1;       // index of its parent; -1 for the root
  int exit_signal = 0;
  bool zombie = false;
  int wait_status = 0;
  char comm[16] = {};
  int ctl = -1;          // its end of its control socket (filled in by the spawn)
  // The root only: the open files the tree shares, made before any child
  // is forked, at their handoff slots (their plan's fd numbers).
  RestorePlan *shared = nullptr;
};

struct RestoreTree {
  pid_t init_pid = -1;  // the namespace's init, in our namespace
  UniqueFd init_pidfd;
  UniqueFd lifeline;    // our end of the init's lifeline (lifeline.hpp)
  // SOCK_SEQPACKET to each live member's restore child (the root's also
  // hears the init); invalid for zombies.
  std::vector<UniqueFd> ctl;
};

// Extra control message: the init tells lmigd the restore child exists.
inline constexpr uint32_t kMsgSpawned = 100;
inline constexpr uint32_t kStepSpawn = 50;
inline constexpr uint32_t kStepProc = 51; // the namespace's own /proc

// members[0] is the root; parents come before their children.
Result<RestoreTree> spawn_restore_tree(std::vector<SpawnMember> &members);

} // namespace lmig
