// Every ptrace request lmig makes, wrapped once, returning errors as values.
// Used on the source to freeze and read a process, on the target to follow
// the restorer into the saved context.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig::ptrace {

Status seize(pid_t tid, unsigned long options);
Status interrupt(pid_t tid);
Status detach(pid_t tid, int sig = 0);
Status cont(pid_t tid, int sig = 0);
Status syscall_step(pid_t tid, int sig = 0); // PTRACE_SYSCALL
Result<RegsImage> get_regs(pid_t tid);
Status set_regs(pid_t tid, const RegsImage &regs);
Result<std::vector<uint8_t>> get_xstate(pid_t tid);
Status set_xstate(pid_t tid, const std::vector<uint8_t> &xstate);
Result<uint64_t> get_sigmask(pid_t tid);
Status set_sigmask(pid_t tid, uint64_t mask);

struct RseqConfig {
  uint64_t addr = 0;
  uint32_t len = 0;
  uint32_t sig = 0;
};
Result<RseqConfig> get_rseq(pid_t tid);

// What a waitpid on a traced task reported.
struct StopInfo {
  enum Kind { exited, killed, event_stop, syscall_stop, signal_stop, group_stop } kind;
  int sig = 0;     // signal_stop/killed: the signal; exited: exit code
  int event = 0;   // PTRACE_EVENT_* for event stops
};
// Waits for the next state change of a traced task (blocking).
Result<StopInfo> wait_stop(pid_t tid);
// Same, but returns nullopt-like kind=none after timeout_ms with nothing.
Result<bool> wait_stop_for(pid_t tid, int timeout_ms, StopInfo &out);

const char *describe(const StopInfo &s);

// Registers as the kernel would leave them once an interrupted system call
// is dealt with: restartable calls re-enter the syscall instruction, and
// orig_rax = -1 so the kernel does not apply restart logic a second time.
// restart_block calls become restart_syscall in the same process
// (for_migration = false); in a new one (for_migration = true), where the
// kernel's restart block does not travel, poll and futex waits are entered
// again with their own arguments (no timeout: exactly; a relative timeout:
// whole again, longer than asked, never shorter), others return EINTR.
RegsImage settle_interrupted_syscall(const RegsImage &regs, bool for_migration);

// Calls the kernel never restarts (epoll_wait, sigtimedwait, semop,
// io_getevents, ...) fail with EINTR when a ptrace stop interrupts them.
// With no signal to deliver (`deliverable` false) only the freeze can have
// done that: they are entered again with their own arguments, as if
// nothing happened (a timeout starts over: never shorter).
RegsImage undo_freeze_eintr(const RegsImage &regs, bool deliverable);

// Signals pending for a task, its own and its process's (a bit per signal).
uint64_t pending_signals(pid_t tid);

} // namespace lmig::ptrace
