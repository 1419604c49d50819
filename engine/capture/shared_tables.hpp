// Processes made with clone() flags that share what fork copies: one fd
// table (CLONE_FILES), one cwd and umask (CLONE_FS), one address space
// (CLONE_VM, a vfork child before it execs), one signal handler table
// (CLONE_SIGHAND). The target would make each process its own copy, and
// what one changes the other would no longer see: refused by name, until
// they are shared again.
#pragma once

#include "engine/base/error.hpp"
#include "engine/capture/tree_scan.hpp"

namespace lmig {

// Compares (kcmp) every two live members of the tree, and the root with
// its parent, which stays behind.
Status refuse_shared_tables(const ScannedTree &t);

} // namespace lmig
