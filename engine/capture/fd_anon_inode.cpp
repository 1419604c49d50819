// eventfd, signalfd and timerfd: their whole state is in fdinfo.
#include <sys/timerfd.h>
#include <time.h>

#include "engine/base/clock.hpp"
#include "engine/capture/fd_kinds.hpp"
#include "engine/capture/fdinfo.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/image/fd_validation.hpp"

namespace lmig {

Result<EventfdImage> capture_eventfd(int fd, std::string_view fdinfo) {
  auto info = parse_eventfd_fdinfo(fdinfo);
  if (!info.ok())
    return std::move(info).error().context("fd " + std::to_string(fd));
  // Before Linux 6.6 fdinfo does not say whether it counts as a semaphore,
  // and restoring it the wrong way would change what every read returns.
  if (!info->semaphore)
    return unsupported_fd(fd, "eventfd on a kernel that does not show its semaphore mode");
  EventfdImage e;
  e.count = info->count;
  e.semaphore = *info->semaphore;
  return e;
}

Result<SignalfdImage> capture_signalfd(int fd, std::string_view fdinfo) {
  auto mask = parse_signalfd_fdinfo(fdinfo);
  if (!mask.ok())
    return std::move(mask).error().context("fd " + std::to_string(fd));
  SignalfdImage s;
  s.mask = *mask;
  return s;
}

Result<TimerfdImage> capture_timerfd(FdBorrower &borrower, int fd, std::string_view fdinfo,
                                     bool settle) {
  const std::string where = "fd " + std::to_string(fd);
  std::string text(fdinfo);
  TimerfdInfo info;
  for (int attempt = 0;; attempt++) {
    if (settle) {
      // timerfd_gettime forwards a periodic timer that expired unread and
      // adds the periods it missed to its tick count, exactly what the
      // process's next read would do first: it consumes nothing.
      LMIG_ASSIGN_OR_RETURN(UniqueFd dup, borrower.borrow(fd));
      itimerspec cur{};
      if (::timerfd_gettime(dup.get(), &cur) < 0)
        return sys_error(where + ": timerfd_gettime");
      auto t = read_proc_file("/proc/" + std::to_string(borrower.pid()) + "/fdinfo/" +
                              std::to_string(fd));
      if (!t.ok())
        return std::move(t).error().context(where);
      text = std::move(*t);
    }
    auto parsed = parse_timerfd_fdinfo(text);
    if (!parsed.ok())
      return std::move(parsed).error().context(where);
    info = *parsed;
    // A periodic timer showing 0 left expired between the two reads: its
    // next deadline is not known yet; settle it again.
    if (!settle || info.interval_ns == 0 || info.value_ns != 0)
      break;
    if (attempt == 100)
      return unsupported_fd(fd, "timerfd with a period too short to capture");
  }
  TimerfdImage t;
  t.clockid = info.clockid;
  t.settime_flags = info.settime_flags;
  t.ticks = info.ticks;
  t.value_ns = info.value_ns;
  t.interval_ns = info.interval_ns;
  t.captured_ns = now_ns(CLOCK_REALTIME);
  if (!timerfd_clock_supported(t.clockid))
    return unsupported_fd(fd, "timerfd on clock " + std::to_string(t.clockid));
  return t;
}

} // namespace lmig
