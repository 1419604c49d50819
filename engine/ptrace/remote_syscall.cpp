#include "engine/ptrace/remote_syscall.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "engine/base/unique_fd.hpp"
#include "engine/ptrace/ptrace_ops.hpp"

namespace lmig {

Result<RemoteSyscaller> RemoteSyscaller::attach(pid_t tid, uint64_t syscall_insn) {
  LMIG_ASSIGN_OR_RETURN(RegsImage regs, ptrace::get_regs(tid));
  LMIG_ASSIGN_OR_RETURN(uint64_t mask, ptrace::get_sigmask(tid));
  // Everything blockable stays pending while we drive the task.
  LMIG_TRY(ptrace::set_sigmask(tid, ~0ull));
  return RemoteSyscaller(tid, syscall_insn, regs, mask);
}

RemoteSyscaller::RemoteSyscaller(RemoteSyscaller &&o) noexcept
    : tid_(o.tid_), insn_(o.insn_), orig_regs_(o.orig_regs_), orig_mask_(o.orig_mask_),
      moved_(o.moved_), finished_(o.finished_) {
  o.finished_ = true;
}

RemoteSyscaller::~RemoteSyscaller() { (void)finish(); }

Status RemoteSyscaller::step_to_syscall_stop(const char *which) {
  for (;;) {
    LMIG_TRY(ptrace::syscall_step(tid_));
    LMIG_ASSIGN_OR_RETURN(auto st, ptrace::wait_stop(tid_));
    switch (st.kind) {
    case ptrace::StopInfo::syscall_stop:
      return {};
    case ptrace::StopInfo::exited:
    case ptrace::StopInfo::killed:
      finished_ = true;
      return make_error(LMIG_ERR_SYSTEM, "task " + std::to_string(tid_) + " died during a " +
                                             "remote system call (" + which + ")");
    case ptrace::StopInfo::signal_stop:
      if (st.sig == SIGSTOP || st.sig == SIGTSTP || st.sig == SIGTTIN || st.sig == SIGTTOU) {
        // Not ours to drop: it is raised again once we are done.
        deferred_stop_ = st.sig;
        continue;
      }
      // Blocked signals cannot get here: this one is a fault of our own.
      return make_error(LMIG_ERR_SYSTEM, "remote system call (" + std::string(which) +
                                             ") raised signal " + std::to_string(st.sig) +
                                             " in task " + std::to_string(tid_));
    default:
      continue;
    }
  }
}

namespace {
// Test-only (documented in the README): the first remote system call of
// this process waits this long with the thread's registers borrowed, so
// that a test can kill lmig at that very instant.
void test_pause_with_borrowed_registers() {
  static std::atomic<bool> paused{false};
  const char *ms = std::getenv("LMIG_TEST_PAUSE_IN_SYSCALL_MS");
  if (ms && !paused.exchange(true))
    ::usleep(static_cast<useconds_t>(std::strtoul(ms, nullptr, 10)) * 1000);
}
} // namespace

Result<int64_t> RemoteSyscaller::call(long nr, std::array<uint64_t, 6> args) {
  if (finished_)
    return make_error(LMIG_ERR_INTERNAL, "remote syscall after finish");
  RegsImage r = orig_regs_;
  r[kRax] = static_cast<uint64_t>(nr);
  r[kOrigRax] = static_cast<uint64_t>(-1); // no restart logic on the way out
  r[kRdi] = args[0];
  r[kRsi] = args[1];
  r[kRdx] = args[2];
  r[kR10] = args[3];
  r[kR8] = args[4];
  r[kR9] = args[5];
  r[kRip] = insn_;
  moved_ = true;
  LMIG_TRY(ptrace::set_regs(tid_, r));
  test_pause_with_borrowed_registers();
  LMIG_TRY(step_to_syscall_stop("entry"));
  LMIG_TRY(step_to_syscall_stop("exit"));
  LMIG_ASSIGN_OR_RETURN(RegsImage out, ptrace::get_regs(tid_));
  return static_cast<int64_t>(out[kRax]);
}

Status RemoteSyscaller::finish() {
  if (finished_)
    return {};
  finished_ = true;
  Status st;
  if (moved_) {
    // The task now sits at a syscall-exit stop, outside the signal path that
    // settles an interrupted call. If a signal it accepts is pending, that
    // path will run as soon as it goes on: leave the call exactly as the
    // kernel did, so it decides (EINTR, restart, SA_RESTART). Otherwise
    // nothing will: settle it ourselves.
    bool deliverable = (ptrace::pending_signals(tid_) & ~orig_mask_) != 0;
    st = ptrace::set_regs(
        tid_, deliverable ? orig_regs_
                          : ptrace::undo_freeze_eintr(
                                ptrace::settle_interrupted_syscall(orig_regs_, false), false));
  }
  Status mask = ptrace::set_sigmask(tid_, orig_mask_); // even if the registers failed
  if (st.ok())
    st = std::move(mask);
  if (deferred_stop_)
    ::kill(tid_, deferred_stop_);
  return st;
}

namespace {

struct ExecRange {
  uint64_t start, end;
  bool vdso;
};

std::vector<ExecRange> executable_ranges(pid_t pid) {
  std::vector<ExecRange> out;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long s = 0, e = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%llx-%llx %7s", &s, &e, perms) != 3 || perms[2] != 'x')
      continue;
    if (s >= 0x800000000000ull) // [vsyscall]: not readable through /proc/PID/mem
      continue;
    bool vdso = line.find("[vdso]") != std::string::npos;
    ExecRange r{s, e, vdso};
    if (vdso)
      out.insert(out.begin(), r);
    else
      out.push_back(r);
  }
  return out;
}

} // namespace

Result<uint64_t> find_syscall_instruction(pid_t pid) {
  std::string mem_path = "/proc/" + std::to_string(pid) + "/mem";
  UniqueFd mem(::open(mem_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!mem)
    return sys_error("open " + mem_path);
  std::vector<uint8_t> buf(64 * 1024);
  for (const auto &r : executable_ranges(pid)) {
    for (uint64_t at = r.start; at < r.end; at += buf.size() - 1) {
      size_t want = std::min<uint64_t>(buf.size(), r.end - at);
      ssize_t n = ::pread(mem.get(), buf.data(), want, static_cast<off_t>(at));
      if (n < 2)
        break;
      for (ssize_t i = 0; i + 1 < n; i++)
        if (buf[i] == 0x0f && buf[i + 1] == 0x05)
          return at + static_cast<uint64_t>(i);
    }
  }
  return make_error(LMIG_ERR_NOT_MIGRATABLE,
                    "process " + std::to_string(pid) + " has no syscall instruction mapped");
}

} // namespace lmig
