// Timers a process holds: setitimer's three and its POSIX timers. Which
// timers exist (id, clock, sigevent) comes from /proc/PID/timers; their
// settings and overruns only the process can read, through remote calls.
#pragma once

#include <map>

#include <sys/types.h>

#include <string>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

class RemoteSyscaller;

// One entry of /proc/PID/timers.
struct ProcTimer {
  int32_t id = 0;
  int32_t signo = 0;
  uint64_t sigval = 0;
  std::string notify; // "signal", "none", "thread"
  bool to_thread = false; // "tid" rather than "pid": SIGEV_THREAD_ID
  int32_t target = 0;     // that pid or tid, in our PID namespace
  int32_t clockid = 0;
  bool has_clock = false;
};

Result<std::vector<ProcTimer>> parse_proc_timers(const std::string &text);

// Refuses by name, before the freeze, the POSIX timers lmig cannot move.
Status precheck_timers(pid_t pid);

// Reads every timer of the frozen process pid through rs, using scratch (a
// page mapped in it) for the results. inner_tid: each of its threads' TID
// (ours) -> the TID it sees itself as.
Status capture_timers(RemoteSyscaller &rs, uint64_t scratch, pid_t pid,
                      const std::map<pid_t, pid_t> &inner_tid,
                      TimersImage &out);

// Marks the timers whose own signal sits in one of the queues.
void mark_pending_timer_signals(ProcessImage &im);

} // namespace lmig
