// Makes a stopped task execute system calls for us, the way CRIU's compel
// does but without writing code into it: the task's registers are pointed at
// a `syscall` instruction it already has mapped (in its vDSO), and
// PTRACE_SYSCALL stops it at the entry and the exit of that one call. While
// calls run, every signal is blocked so none is lost or delivered early;
// finish() restores the registers and the mask exactly as they were.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

class RemoteSyscaller {
public:
  // tid must be in a ptrace stop; syscall_insn is the address of bytes 0f 05
  // in an executable mapping of the task.
  static Result<RemoteSyscaller> attach(pid_t tid, uint64_t syscall_insn);
  RemoteSyscaller(RemoteSyscaller &&o) noexcept;
  RemoteSyscaller &operator=(RemoteSyscaller &&) = delete;
  ~RemoteSyscaller();

  // The kernel's return value (negative errno on failure) or an Error when
  // the task could not be driven (it died, ptrace failed).
  Result<int64_t> call(long nr, std::array<uint64_t, 6> args = {});
  // Restores registers and signal mask, and raises again a stop signal that
  // arrived meanwhile. Safe to call twice.
  Status finish();

  const RegsImage &original_regs() const { return orig_regs_; }

private:
  RemoteSyscaller(pid_t tid, uint64_t insn, const RegsImage &regs, uint64_t mask)
      : tid_(tid), insn_(insn), orig_regs_(regs), orig_mask_(mask) {}
  Status step_to_syscall_stop(const char *which);

  pid_t tid_ = -1;
  uint64_t insn_ = 0;
  RegsImage orig_regs_{};
  uint64_t orig_mask_ = 0;
  bool moved_ = false; // registers were changed: finish() must restore them
  bool finished_ = false;
  int deferred_stop_ = 0; // a stop signal that arrived meanwhile, raised again by finish()
};

// Finds a `syscall` instruction in the task's [vdso] (or, failing that, in
// any executable mapping) by reading its memory through /proc/PID/mem.
Result<uint64_t> find_syscall_instruction(pid_t pid);

} // namespace lmig
