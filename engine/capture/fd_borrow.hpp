// Borrows duplicates of another process's fds through a pidfd
// (pidfd_getfd). A duplicate shares the open file with the process: what is
// done through it must leave that file as the process knows it.
#pragma once

#include <sys/types.h>

#include "engine/base/error.hpp"
#include "engine/base/unique_fd.hpp"

namespace lmig {

class FdBorrower {
public:
  explicit FdBorrower(pid_t pid) : pid_(pid) {}
  pid_t pid() const { return pid_; }
  // A close-on-exec duplicate of the process's fd.
  Result<UniqueFd> borrow(int fd);

private:
  pid_t pid_;
  UniqueFd pidfd_; // opened on first use
};

} // namespace lmig
