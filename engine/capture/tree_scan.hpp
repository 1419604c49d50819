// Finds the process tree under a process: its children, their children and
// the zombies among them, with the links the target must rebuild (parent,
// process group, session). What cannot be rebuilt is refused by name before
// anything is frozen.
#pragma once

#include <sys/types.h>

#include <map>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/process_tree.hpp"

namespace lmig {

struct ScannedTree {
  ProcessTree tree;              // PIDs as the tree sees itself
  std::vector<pid_t> host_pids;  // the same members in our PID namespace
};

// Direct children of a process (of any of its threads), in our namespace.
Result<std::vector<pid_t>> list_children(pid_t pid);

// The tree under root, root first, parents before children. Each live
// member other than the root gets a fresh random session id.
Result<ScannedTree> scan_tree(pid_t root);

// Refuses a tree whose root's session holds processes outside the tree
// (orphans of its members, reparented elsewhere): they would stay behind
// in a session whose leader moved. Walks /proc: for the dry run only.
Status check_session_moves_whole(const ScannedTree &t);

// Whether two scans found the same members with the same links (the tree
// must not change between the scan and the freeze).
bool same_tree(const ProcessTree &a, const ProcessTree &b);

} // namespace lmig
