// How a restored process ended, read once its pidfd said it did: by an exit
// of its own (a migration that succeeded: the process simply finished) or by
// a signal (a failed one: the source copy must be kept), and whether the
// kernel's OOM killer sent that signal.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace lmig {

struct ProcessEnd {
  enum Kind { unknown, exited, killed } kind = unknown;
  int code = 0;     // exited: the exit status; killed: the signal
  bool oom = false; // killed by SIGKILL while the kernel counted an OOM kill
  // "exited with status 3", "was killed by signal 9 (SIGKILL, by the kernel's OOM killer)".
  std::string describe() const;
};

// The kernel's count of OOM kills so far (/proc/vmstat oom_kill); 0 if unknown.
uint64_t oom_kills();

// `pid` (in our PID namespace) has ended and `pidfd` is its pidfd. A zombie
// not yet reaped is read from /proc/PID/stat, a reaped one through
// PIDFD_GET_INFO (Linux 6.15+). oom_kills_before is oom_kills() from when
// the process started to run here.
ProcessEnd read_process_end(pid_t pid, int pidfd, uint64_t oom_kills_before);

} // namespace lmig
