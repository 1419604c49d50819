#include "engine/capture/fd_borrow.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace lmig {

Result<UniqueFd> FdBorrower::borrow(int fd) {
  if (!pidfd_) {
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    if (!pidfd_)
      return sys_error("pidfd_open " + std::to_string(pid_));
  }
  UniqueFd dup(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd_.get(), fd, 0)));
  if (!dup)
    return sys_error("pidfd_getfd fd " + std::to_string(fd) + " of " + std::to_string(pid_));
  return dup;
}

} // namespace lmig
