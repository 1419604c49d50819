// Parsers for the kind-specific lines of /proc/PID/fdinfo/N: what the kernel
// shows of an eventfd, signalfd, timerfd, epoll or inotify instance, or a
// socket. The generic "pos"/"flags" lines are parse_fdinfo's (proc_status).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/base/error.hpp"

namespace lmig {

struct EventfdInfo {
  uint64_t count = 0;
  // "eventfd-semaphore:" is absent on kernels before 6.6: then it is unknown.
  std::optional<bool> semaphore;
};

struct TimerfdInfo {
  int32_t clockid = 0;
  uint64_t ticks = 0;
  uint32_t settime_flags = 0; // printed in octal
  uint64_t value_ns = 0;      // time left to the next expiration
  uint64_t interval_ns = 0;
};

// "tfd: N events: HEX data: HEX  pos:N ino:HEX sdev:HEX"
struct EpollTargetInfo {
  int32_t tfd = 0;
  uint32_t events = 0;
  uint64_t data = 0;
  uint64_t ino = 0;
  uint32_t sdev = 0; // kernel encoding: major << 20 | minor
};

// "inotify wd:HEX ino:HEX sdev:HEX mask:HEX ignored_mask:HEX
//  fhandle-bytes:HEX fhandle-type:HEX f_handle:HEXBYTES" (the handle is
// missing when the filesystem cannot encode one).
struct InotifyWatchInfo {
  int32_t wd = 0;
  uint64_t ino = 0;
  uint32_t sdev = 0;
  uint32_t mask = 0;
  int32_t handle_type = 0;
  std::vector<uint8_t> handle;
};

Result<EventfdInfo> parse_eventfd_fdinfo(std::string_view text);
Result<uint64_t> parse_signalfd_fdinfo(std::string_view text); // the "sigmask:" bits
Result<TimerfdInfo> parse_timerfd_fdinfo(std::string_view text);
Result<std::vector<EpollTargetInfo>> parse_epoll_fdinfo(std::string_view text);
Result<std::vector<InotifyWatchInfo>> parse_inotify_fdinfo(std::string_view text);
// A socket's "scm_fds:" (file descriptors queued in SCM_RIGHTS messages);
// nothing when the kernel does not show it.
Result<std::optional<uint32_t>> parse_socket_scm_fds(std::string_view text);

// The kernel's device encoding in fdinfo (major << 20 | minor) as a dev_t.
uint64_t kernel_dev_to_dev(uint32_t kdev);

} // namespace lmig
