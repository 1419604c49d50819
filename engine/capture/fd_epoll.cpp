// epoll: its interest list, from fdinfo. The target re-adds each entry at
// the fd number it was added with, so that number must still hold the file
// the entry watches (an fd closed after a dup leaves the entry on a file
// that no fd number of the process names).
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>

#include "engine/capture/fd_kinds.hpp"
#include "engine/capture/fdinfo.hpp"

namespace lmig {

Result<EpollImage> capture_epoll(pid_t pid, int fd, std::string_view fdinfo,
                                 const std::set<int> &open_fds) {
  auto targets = parse_epoll_fdinfo(fdinfo);
  if (!targets.ok())
    return std::move(targets).error().context("fd " + std::to_string(fd));
  EpollImage e;
  std::map<int, uint32_t> seen; // entries per fd number: the kcmp slot offset
  for (const auto &t : *targets) {
    kcmp_epoll_slot slot{static_cast<uint32_t>(fd), static_cast<uint32_t>(t.tfd),
                         seen[t.tfd]++};
    bool same = open_fds.count(t.tfd) &&
                ::syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, t.tfd, &slot) == 0;
    if (!same)
      return unsupported_fd(fd, "epoll watching a file no longer open at fd " +
                                    std::to_string(t.tfd));
    e.watches.push_back({t.tfd, t.events, t.data});
  }
  return e;
}

} // namespace lmig
