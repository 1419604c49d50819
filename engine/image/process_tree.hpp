// A process tree moved as one: who is whose parent, which process group and
// session each is in, and the zombies waiting to be reaped. Sent ahead of
// the live members' images; the target rebuilds the tree with the same
// PIDs, each parent forking its own children.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/base/error.hpp"

namespace lmig {

inline constexpr size_t kMaxTreeMembers = 512;

struct TreeMember {
  int32_t pid = 0;         // as the tree sees itself; kept on the target
  int32_t ppid = 0;        // a member before it; 0 for the root
  int32_t pgid = 0;        // own pid, the parent's group, or an earlier sibling's
  int32_t sid = 0;         // own pid (it called setsid) or the parent's session
  int32_t exit_signal = 0; // what its parent is sent when it ends (SIGCHLD mostly)
  bool zombie = false;     // exited, not reaped: no image, only its end
  int32_t wait_status = 0; // zombie: the status its parent's wait() reports
  std::string comm;        // zombie: its name (a live member's is in its image)
  uint64_t session = 0;    // post-copy: the session its page channels name (not the root's)
  bool operator==(const TreeMember &) const = default;
};

// Root first; every parent before its children, siblings in the order
// they are forked again (group leaders before the members they lead).
struct ProcessTree {
  std::vector<TreeMember> members;
  size_t live() const;
  // Index of the member with this pid, or -1.
  int index_of(int32_t pid) const;
  bool operator==(const ProcessTree &) const = default;
};

// Checks that a tree can be rebuilt by forking: parents before children,
// unique PIDs, groups and sessions reachable from the parent's.
Status validate_tree(const ProcessTree &t);

std::vector<uint8_t> encode_tree(const ProcessTree &t);
Result<ProcessTree> decode_tree(std::span<const uint8_t> bytes);

} // namespace lmig
