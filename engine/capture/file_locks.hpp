// Locks and leases held through an open file: POSIX record locks, open file
// description (OFD) locks, flock locks and leases, as the fd's fdinfo lists
// them. They do not move yet, and dropping one lets another process in
// where it must wait (a second sqlite writer into a moved transaction), so
// a process that holds one is refused by name.
#pragma once

#include <string>
#include <vector>

#include "engine/base/error.hpp"

namespace lmig {

struct HeldLock {
  std::string kind;   // "POSIX", "OFDLCK", "FLOCK", "LEASE", ...
  std::string access; // "READ", "WRITE", ...
  std::string start, end; // the byte range ("EOF": to the end)
};

// The "lock:" lines of an fdinfo text.
std::vector<HeldLock> locks_in_fdinfo(const std::string &fdinfo);

// An error naming fd, its file and the first lock held through it, or ok.
Status refuse_held_locks(int fd, const std::string &link, const std::string &fdinfo);

} // namespace lmig
