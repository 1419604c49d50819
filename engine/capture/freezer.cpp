#include "engine/capture/freezer.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <algorithm>
#include <string>

#include "engine/base/log.hpp"
#include "engine/capture/proc_status.hpp"
#include "engine/ptrace/ptrace_ops.hpp"

namespace lmig {

Result<std::vector<pid_t>> list_threads(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/task";
  DIR *d = ::opendir(path.c_str());
  if (!d)
    return sys_error("open " + path);
  std::vector<pid_t> tids;
  while (dirent *e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    tids.push_back(static_cast<pid_t>(std::stol(e->d_name)));
  }
  ::closedir(d);
  std::sort(tids.begin(), tids.end());
  // the thread-group leader first
  auto it = std::find(tids.begin(), tids.end(), pid);
  if (it != tids.end())
    std::rotate(tids.begin(), it, it + 1);
  return tids;
}

Result<FrozenProcess> FrozenProcess::freeze(pid_t pid) {
  FrozenProcess fp(pid);
  auto st = fp.seize_all();
  if (st.ok())
    st = fp.interrupt_all();
  if (!st.ok()) {
    fp.detach_all(0);
    return std::move(st).error().context("freeze process " + std::to_string(pid));
  }
  return fp;
}

FrozenProcess::FrozenProcess(FrozenProcess &&o) noexcept
    : pid_(o.pid_), tids_(std::move(o.tids_)), attached_(o.attached_),
      stop_armed_(o.stop_armed_) {
  o.attached_ = false;
  o.stop_armed_ = false;
}

FrozenProcess::~FrozenProcess() { (void)resume(); }

Status FrozenProcess::seize_all() {
  attached_ = true;
  // Threads may be created while we attach: rescan until a pass adds none.
  for (int pass = 0; pass < 100; pass++) {
    LMIG_ASSIGN_OR_RETURN(auto now, list_threads(pid_));
    bool added = false;
    for (pid_t t : now) {
      if (std::find(tids_.begin(), tids_.end(), t) != tids_.end())
        continue;
      // Seccomp suspended while we hold it: the remote system calls capture
      // makes (mmap, prctl ...) would otherwise be killed or refused by the
      // process's own filters. Needs CAP_SYS_ADMIN and no seccomp of our
      // own: without them, seize plainly, which will do for a thread that
      // runs without seccomp.
      auto st = ptrace::seize(t, PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP);
      if (!st.ok() && (st.error().sys_errno == EPERM || st.error().sys_errno == EINVAL)) {
        auto status = read_status(t);
        if (status.ok() && status->seccomp != 0)
          return make_error(LMIG_ERR_UNSUPPORTED,
                            "thread " + std::to_string(t) + " runs under seccomp, which lmig "
                            "cannot suspend here (it needs CAP_SYS_ADMIN and no seccomp of its "
                            "own); that is not supported yet");
        st = ptrace::seize(t, PTRACE_O_TRACESYSGOOD);
      }
      if (!st.ok()) {
        if (st.error().sys_errno == ESRCH && t != pid_)
          continue; // the thread exited meanwhile
        if (st.error().sys_errno == EPERM)
          st.error().code = LMIG_ERR_NOT_MIGRATABLE;
        return st;
      }
      tids_.push_back(t);
      added = true;
    }
    if (!added)
      return {};
  }
  return make_error(LMIG_ERR_NOT_MIGRATABLE, "threads keep appearing; cannot freeze");
}

Status FrozenProcess::interrupt_all() {
  for (pid_t t : tids_)
    LMIG_TRY(ptrace::interrupt(t));
  for (pid_t t : tids_) {
    for (;;) {
      LMIG_ASSIGN_OR_RETURN(auto s, ptrace::wait_stop(t));
      if (s.kind == ptrace::StopInfo::event_stop || s.kind == ptrace::StopInfo::group_stop)
        break;
      if (s.kind == ptrace::StopInfo::exited || s.kind == ptrace::StopInfo::killed) {
        tids_.erase(std::find(tids_.begin(), tids_.end(), t));
        if (t == pid_)
          return make_error(LMIG_ERR_NO_SUCH_PROCESS,
                            "process " + std::to_string(pid_) + " exited while being frozen");
        break;
      }
      // A signal arrived first: deliver it as the kernel would have; the
      // pending interrupt stops the thread right after.
      LMIG_TRY(ptrace::cont(t, s.kind == ptrace::StopInfo::signal_stop ? s.sig : 0));
    }
  }
  return {};
}

// The freeze broke off calls the kernel never restarts (epoll_wait, ...):
// a thread with no signal to take goes back into its call instead of
// seeing EINTR. Best effort: a thread that cannot be read keeps its EINTR.
void FrozenProcess::undo_freeze_eintr() {
  for (pid_t t : tids_) {
    auto regs = ptrace::get_regs(t);
    auto mask = ptrace::get_sigmask(t);
    if (!regs.ok() || !mask.ok())
      continue;
    const bool deliverable = (ptrace::pending_signals(t) & ~*mask) != 0;
    RegsImage again = ptrace::undo_freeze_eintr(*regs, deliverable);
    if (again != *regs)
      (void)ptrace::set_regs(t, again);
  }
}

void FrozenProcess::detach_all(int sig) {
  for (pid_t t : tids_) {
    auto st = ptrace::detach(t, t == pid_ ? sig : 0);
    if (!st.ok() && st.error().sys_errno != ESRCH)
      LMIG_WARN("detach %d: %s", t, st.error().message.c_str());
  }
  attached_ = false;
}

Status FrozenProcess::resume() {
  if (!attached_)
    return {};
  Status st = stop_armed_ ? disarm_stop() : Status{};
  undo_freeze_eintr();
  detach_all(0);
  if (!st.ok())
    return std::move(st).error().context("resume process " + std::to_string(pid_));
  return {};
}

Status FrozenProcess::arm_stop() {
  if (!attached_ || stop_armed_)
    return {};
  // Queued while every thread is in a trace stop: none takes it before one
  // is let go, and each checks for it on its way back to user mode.
  if (::kill(pid_, SIGSTOP) < 0)
    return sys_error("queue SIGSTOP to the source process " + std::to_string(pid_));
  stop_armed_ = true;
  return {};
}

// Takes the armed SIGSTOP back: one thread is let go until it dequeues it,
// which it does before running any user code, and it is held in that
// signal-delivery stop, where detaching drops the signal. Signals queued
// before it are delivered on the way, as the kernel would have.
Status FrozenProcess::disarm_stop() {
  for (pid_t t : tids_) {
    if (auto st = ptrace::cont(t, 0); !st.ok()) {
      if (st.error().sys_errno == ESRCH)
        continue; // an exited leader: another thread takes it
      return st;
    }
    for (int n = 0; n < 128; n++) {
      LMIG_ASSIGN_OR_RETURN(auto s, ptrace::wait_stop(t));
      if (s.kind == ptrace::StopInfo::signal_stop && s.sig == SIGSTOP) {
        stop_armed_ = false;
        return {};
      }
      if (s.kind == ptrace::StopInfo::exited || s.kind == ptrace::StopInfo::killed)
        break;
      LMIG_TRY(ptrace::cont(t, s.kind == ptrace::StopInfo::signal_stop ? s.sig : 0));
    }
  }
  return make_error(LMIG_ERR_SYSTEM, "could not take back the SIGSTOP queued at the switchover; "
                                     "the process may be left stopped (kill -CONT " +
                                         std::to_string(pid_) + ")");
}

Status FrozenProcess::kill() {
  if (!attached_)
    return {};
  if (::kill(pid_, SIGKILL) < 0 && errno != ESRCH)
    return sys_error("kill source process " + std::to_string(pid_));
  stop_armed_ = false;
  // Reap the trace stops so the real parent sees the exit: the other
  // threads first, as the kernel reports the leader's exit only once they
  // are all gone.
  for (auto it = tids_.rbegin(); it != tids_.rend(); ++it)
    for (pid_t t = *it;;) {
      auto s = ptrace::wait_stop(t);
      if (!s.ok() || s->kind == ptrace::StopInfo::exited || s->kind == ptrace::StopInfo::killed)
        break;
    }
  attached_ = false;
  return {};
}

Status FrozenProcess::park_stopped() {
  if (!attached_)
    return {};
  // A queued SIGSTOP stops the whole group as soon as we let go, and the
  // stop outlives us. (Detaching with a signal would be dropped from an
  // interrupt stop.)
  if (!stop_armed_ && ::kill(pid_, SIGSTOP) < 0 && errno != ESRCH)
    return sys_error("stop source process " + std::to_string(pid_));
  stop_armed_ = false;
  detach_all(0);
  return {};
}

} // namespace lmig
