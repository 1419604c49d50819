#include "engine/ptrace/ptrace_ops.hpp"

#include <elf.h>
#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>

#include <cstring>
#include <fstream>
#include <string>

#include "engine/base/clock.hpp"
#include "restorer/restorer_args.h"

namespace lmig::ptrace {
namespace {

std::string tid_str(pid_t tid) { return "task " + std::to_string(tid); }

Status req(enum __ptrace_request r, pid_t tid, const char *what, void *addr, void *data) {
  if (::ptrace(r, tid, addr, data) < 0)
    return sys_error(std::string("ptrace(") + what + ") " + tid_str(tid));
  return {};
}

} // namespace

Status seize(pid_t tid, unsigned long options) {
  return req(PTRACE_SEIZE, tid, "SEIZE", nullptr, reinterpret_cast<void *>(options));
}
Status interrupt(pid_t tid) { return req(PTRACE_INTERRUPT, tid, "INTERRUPT", nullptr, nullptr); }
Status detach(pid_t tid, int sig) {
  return req(PTRACE_DETACH, tid, "DETACH", nullptr, reinterpret_cast<void *>(static_cast<long>(sig)));
}
Status cont(pid_t tid, int sig) {
  return req(PTRACE_CONT, tid, "CONT", nullptr, reinterpret_cast<void *>(static_cast<long>(sig)));
}
Status syscall_step(pid_t tid, int sig) {
  return req(PTRACE_SYSCALL, tid, "SYSCALL", nullptr,
             reinterpret_cast<void *>(static_cast<long>(sig)));
}

Result<RegsImage> get_regs(pid_t tid) {
  static_assert(sizeof(user_regs_struct) == sizeof(RegsImage));
  RegsImage regs{};
  iovec iov{regs.data(), sizeof regs};
  LMIG_TRY(req(PTRACE_GETREGSET, tid, "GETREGSET NT_PRSTATUS",
               reinterpret_cast<void *>(NT_PRSTATUS), &iov));
  if (iov.iov_len != sizeof regs)
    return make_error(LMIG_ERR_SYSTEM, "GETREGSET NT_PRSTATUS returned a short register set");
  return regs;
}

Status set_regs(pid_t tid, const RegsImage &regs) {
  RegsImage copy = regs;
  iovec iov{copy.data(), sizeof copy};
  return req(PTRACE_SETREGSET, tid, "SETREGSET NT_PRSTATUS",
             reinterpret_cast<void *>(NT_PRSTATUS), &iov);
}

Result<std::vector<uint8_t>> get_xstate(pid_t tid) {
  std::vector<uint8_t> buf(LMIG_XSAVE_MAX);
  iovec iov{buf.data(), buf.size()};
  LMIG_TRY(req(PTRACE_GETREGSET, tid, "GETREGSET NT_X86_XSTATE",
               reinterpret_cast<void *>(NT_X86_XSTATE), &iov));
  buf.resize(iov.iov_len);
  return buf;
}

Status set_xstate(pid_t tid, const std::vector<uint8_t> &xstate) {
  std::vector<uint8_t> copy = xstate;
  iovec iov{copy.data(), copy.size()};
  return req(PTRACE_SETREGSET, tid, "SETREGSET NT_X86_XSTATE",
             reinterpret_cast<void *>(NT_X86_XSTATE), &iov);
}

Result<uint64_t> get_sigmask(pid_t tid) {
  uint64_t mask = 0;
  LMIG_TRY(req(PTRACE_GETSIGMASK, tid, "GETSIGMASK", reinterpret_cast<void *>(sizeof mask), &mask));
  return mask;
}

Status set_sigmask(pid_t tid, uint64_t mask) {
  return req(PTRACE_SETSIGMASK, tid, "SETSIGMASK", reinterpret_cast<void *>(sizeof mask), &mask);
}

Result<RseqConfig> get_rseq(pid_t tid) {
  struct {
    uint64_t rseq_abi_pointer;
    uint32_t rseq_abi_size;
    uint32_t signature;
    uint32_t flags;
    uint32_t pad;
  } conf{};
  constexpr int kGetRseqConfiguration = 0x420f;
  LMIG_TRY(req(static_cast<enum __ptrace_request>(kGetRseqConfiguration), tid,
               "GET_RSEQ_CONFIGURATION", reinterpret_cast<void *>(sizeof conf), &conf));
  return RseqConfig{conf.rseq_abi_pointer, conf.rseq_abi_size, conf.signature};
}

namespace {
StopInfo classify(int status) {
  StopInfo s{};
  if (WIFEXITED(status)) {
    s.kind = StopInfo::exited;
    s.sig = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.kind = StopInfo::killed;
    s.sig = WTERMSIG(status);
  } else {
    int sig = WSTOPSIG(status);
    int event = (status >> 16) & 0xff;
    s.sig = sig;
    if (sig == (SIGTRAP | 0x80)) {
      s.kind = StopInfo::syscall_stop;
    } else if (event == PTRACE_EVENT_STOP) {
      // group-stop under SEIZE reports the stopping signal; INTERRUPT reports SIGTRAP
      s.kind = (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
                   ? StopInfo::group_stop
                   : StopInfo::event_stop;
      s.event = event;
    } else if (event) {
      s.kind = StopInfo::event_stop;
      s.event = event;
    } else {
      s.kind = StopInfo::signal_stop;
    }
  }
  return s;
}
} // namespace

Result<StopInfo> wait_stop(pid_t tid) {
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(tid, &status, __WALL);
    if (r == tid)
      return classify(status);
    if (r < 0 && errno == EINTR)
      continue;
    return sys_error("waitpid " + tid_str(tid));
  }
}

Result<bool> wait_stop_for(pid_t tid, int timeout_ms, StopInfo &out) {
  // A traced task that is not our child gives no pidfd readiness for stops,
  // so poll with short naps; used only where stops are rare and brief.
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(tid, &status, __WALL | WNOHANG);
    if (r == tid) {
      out = classify(status);
      return true;
    }
    if (r < 0 && errno != EINTR)
      return sys_error("waitpid " + tid_str(tid));
    if (now_ns() >= deadline)
      return false;
    timespec ts{0, 100 * 1000};
    ::nanosleep(&ts, nullptr);
  }
}

const char *describe(const StopInfo &s) {
  switch (s.kind) {
  case StopInfo::exited: return "exited";
  case StopInfo::killed: return "killed by a signal";
  case StopInfo::event_stop: return "ptrace event stop";
  case StopInfo::syscall_stop: return "syscall stop";
  case StopInfo::signal_stop: return "signal stop";
  case StopInfo::group_stop: return "group stop";
  }
  return "?";
}

RegsImage undo_freeze_eintr(const RegsImage &in, bool deliverable) {
  static constexpr uint64_t kNeverRestarted[] = {
      SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2, SYS_rt_sigtimedwait, SYS_semop,
      SYS_semtimedop, SYS_io_getevents, SYS_io_pgetevents};
  RegsImage r = in;
  if (deliverable || static_cast<int64_t>(r[kOrigRax]) < 0 ||
      static_cast<int64_t>(r[kRax]) != -EINTR)
    return r;
  bool listed = false;
  for (uint64_t nr : kNeverRestarted)
    listed |= r[kOrigRax] == nr;
  if (!listed)
    return r;
  r[kRax] = r[kOrigRax];
  r[kRip] -= 2;
  r[kOrigRax] = static_cast<uint64_t>(-1);
  return r;
}

uint64_t pending_signals(pid_t tid) {
  std::ifstream f("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  uint64_t pending = 0;
  while (std::getline(f, line))
    if (line.rfind("SigPnd:", 0) == 0 || line.rfind("ShdPnd:", 0) == 0)
      pending |= std::stoull(line.substr(7), nullptr, 16);
  return pending;
}

RegsImage settle_interrupted_syscall(const RegsImage &in, bool for_migration) {
  constexpr int64_t kErestartsys = -512, kErestartnointr = -513, kErestartnohand = -514,
                    kErestartRestartblock = -516;
  constexpr uint64_t kNrRestartSyscall = 219;
  RegsImage r = in;
  if (static_cast<int64_t>(r[kOrigRax]) < 0)
    return r;
  switch (static_cast<int64_t>(r[kRax])) {
  case kErestartsys:
  case kErestartnointr:
  case kErestartnohand:
    r[kRax] = r[kOrigRax];
    r[kRip] -= 2;
    break;
  case kErestartRestartblock:
    if (for_migration && (r[kOrigRax] == SYS_poll || r[kOrigRax] == SYS_futex)) {
      r[kRax] = r[kOrigRax];
      r[kRip] -= 2;
    } else if (for_migration) {
      r[kRax] = static_cast<uint64_t>(-EINTR);
    } else {
      r[kRax] = kNrRestartSyscall;
      r[kRip] -= 2;
    }
    break;
  default:
    return r;
  }
  r[kOrigRax] = static_cast<uint64_t>(-1);
  return r;
}

} // namespace lmig::ptrace
