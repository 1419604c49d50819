// Freezes every thread of a process with PTRACE_SEIZE + PTRACE_INTERRUPT and
// keeps it frozen for as long as this object lives. Until commit, letting go
// (or lmig dying: the kernel detaches a dead tracer's tasks) resumes the
// process exactly where it was.
#pragma once

#include <sys/types.h>

#include <vector>

#include "engine/base/error.hpp"

namespace lmig {

class FrozenProcess {
public:
  static Result<FrozenProcess> freeze(pid_t pid);
  FrozenProcess(FrozenProcess &&o) noexcept;
  FrozenProcess &operator=(FrozenProcess &&) = delete;
  ~FrozenProcess();

  pid_t pid() const { return pid_; }
  const std::vector<pid_t> &tids() const { return tids_; }
  bool attached() const { return attached_; }

  // Lets the process run on, untouched (a SIGSTOP armed is taken back).
  Status resume();
  // Just before the switchover: queues a SIGSTOP, so that if we die from
  // here on (and the kernel lets the process go), it stops in a group stop
  // before running a single instruction, and stays stopped: never running
  // next to the target's copy. `kill -CONT` resumes it as it was.
  Status arm_stop();
  // After the switchover: the target runs it, so the source copy goes.
  Status kill();
  // The switchover's outcome is unknown: park the process in a group stop
  // (SIGSTOP) and let go, so neither copy is lost; an operator decides.
  Status park_stopped();

private:
  explicit FrozenProcess(pid_t pid) : pid_(pid) {}
  Status seize_all();
  Status interrupt_all();
  void detach_all(int sig);
  void undo_freeze_eintr();
  Status disarm_stop();

  pid_t pid_ = -1;
  std::vector<pid_t> tids_;
  bool attached_ = false;
  bool stop_armed_ = false;
};

// Thread IDs of a process, from /proc/PID/task.
Result<std::vector<pid_t>> list_threads(pid_t pid);

} // namespace lmig
