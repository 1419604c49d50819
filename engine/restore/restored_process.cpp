#include "engine/restore/restored_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <cstring>

#include "engine/base/clock.hpp"
#include "engine/base/fd_passing.hpp"
#include "engine/base/log.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/capture/proc_status.hpp"
#include "engine/capture/tree_scan.hpp"
#include "engine/ptrace/ptrace_ops.hpp"
#include "engine/restore/cgroup_placement.hpp"
#include "engine/restore/spawn.hpp"
#include "restorer/restorer_args.h"

namespace lmig {
namespace {

std::string hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

const char *step_name(uint32_t step) {
  switch (step) {
  case LMIG_RST_STEP_FDS: return "open fds";
  case LMIG_RST_STEP_CWD: return "enter the working directory";
  case LMIG_RST_STEP_REGION: return "map the restorer region";
  case LMIG_RST_STEP_UNMAP: return "clear the address space";
  case LMIG_RST_STEP_SPECIAL: return "move the vDSO";
  case LMIG_RST_STEP_OPEN_VMA: return "open a mapped file";
  case LMIG_RST_STEP_MAP_VMA: return "map memory";
  case LMIG_RST_STEP_UFFD: return "set up userfaultfd";
  case LMIG_RST_STEP_CTL: return "talk to lmigd";
  case LMIG_RST_STEP_PROTECT: return "set memory protections";
  case LMIG_RST_STEP_MM: return "set mm fields (PR_SET_MM_MAP)";
  case LMIG_RST_STEP_SIGACTION: return "restore a signal handler";
  case LMIG_RST_STEP_RLIMIT: return "restore a resource limit";
  case LMIG_RST_STEP_TLS: return "restore the thread pointer";
  case LMIG_RST_STEP_EXE: return "open the executable";
  case LMIG_RST_STEP_RSEQ: return "register rseq";
  case LMIG_RST_STEP_THREAD: return "create a thread with its TID";
  case LMIG_RST_STEP_ROBUST: return "restore a thread's robust futex list";
  case LMIG_RST_STEP_CREDS: return "restore the credentials";
  case LMIG_RST_STEP_CAPS: return "restore the capabilities";
  case LMIG_RST_STEP_PERSONALITY: return "restore the personality";
  case LMIG_RST_STEP_DUMPABLE: return "restore the dumpable flag";
  case LMIG_RST_STEP_PDEATHSIG: return "restore the parent-death signal";
  case LMIG_RST_STEP_SECCOMP: return "install seccomp";
  case LMIG_RST_STEP_SESSION: return "start its own session (setsid)";
  case LMIG_RST_STEP_PRCTL: return "restore a prctl flag";
  case LMIG_RST_STEP_SIGQUEUE: return "queue a pending signal again";
  case LMIG_RST_STEP_TIMER_SIGNAL: return "make a POSIX timer queue its signal again";
  case LMIG_RST_STEP_ITIMER: return "set an interval timer (setitimer)";
  case LMIG_RST_STEP_POSIX_TIMER: return "make a POSIX timer again";
  case LMIG_RST_STEP_SIGMASK: return "block signals for the restore";
  case LMIG_RST_STEP_MADVISE: return "remake madvise state";
  case LMIG_RST_STEP_MLOCK: return "lock memory";
  case LMIG_RST_STEP_SHMEM: return "make shared memory";
  case LMIG_RST_STEP_THP: return "disable transparent huge pages";
  case LMIG_RST_STEP_MEMBARRIER: return "register for membarrier";
  case LMIG_RST_STEP_LOGINUID: return "set the audit login uid";
  case LMIG_RST_STEP_GUARD: return "install a guard region";
  case kStepSpawn: return "create the process with its original PID";
  case kStepProc: return "mount the PID namespace's own /proc";
  }
  return "restore";
}

// Receives one control message, with a passed fd if there is one.
ssize_t recv_ctl(int ctl, lmig_rst_msg &m, UniqueFd &passed) {
  int fd = -1;
  ssize_t n = recv_with_fd(ctl, &m, sizeof m, fd, MSG_DONTWAIT);
  if (fd >= 0)
    passed.reset(fd);
  return n;
}

// Our PID of the child of spawner that sees itself as vpid.
Result<pid_t> child_of(pid_t spawner, pid_t vpid) {
  LMIG_ASSIGN_OR_RETURN(auto children, list_children(spawner));
  for (pid_t c : children) {
    auto st = read_status(c);
    if (st.ok() && !st->nspid.empty() && st->nspid.back() == vpid)
      return c;
  }
  return make_error(LMIG_ERR_TARGET_FAILED,
                    "the restore child of PID " + std::to_string(vpid) + " vanished");
}

} // namespace

RestoredProcess::RestoredProcess(const ProcessImage &image, RestorePlan plan, UniqueFd ctl,
                                 pid_t spawner, UniqueFd init_pidfd)
    : image_(&image), plan_(std::move(plan)), init_pid_(init_pidfd ? spawner : -1),
      spawner_(spawner), init_pidfd_(std::move(init_pidfd)), ctl_(std::move(ctl)) {}

RestoredProcess::RestoredProcess(RestoredProcess &&o) noexcept
    : image_(o.image_), plan_(std::move(o.plan_)), init_pid_(o.init_pid_), spawner_(o.spawner_),
      init_pidfd_(std::move(o.init_pidfd_)), ctl_(std::move(o.ctl_)), pid_(o.pid_),
      traced_(o.traced_), threads_(std::move(o.threads_)),
      thread_trapped_(std::move(o.thread_trapped_)), running_(o.running_),
      uffd_(std::move(o.uffd_)), writer_(o.pid_) {
  o.init_pid_ = -1;
  o.pid_ = -1;
  o.traced_ = false;
}

RestoredProcess::~RestoredProcess() { abort(); }

void RestoredProcess::abort() {
  if (running_)
    return;
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    // Traced threads stay zombies until their tracer reaps them, and the
    // leader until its threads are gone.
    for (pid_t t : threads_)
      ::waitpid(t, nullptr, __WALL);
    if (traced_)
      ::waitpid(pid_, nullptr, __WALL);
  }
  pid_ = -1;
  traced_ = false;
  if (init_pid_ > 0) {
    ::kill(init_pid_, SIGKILL);
    ::waitpid(init_pid_, nullptr, __WALL);
    init_pid_ = -1;
  }
}

Error RestoredProcess::restorer_error(uint32_t step, int64_t err, uint64_t arg) const {
  std::string detail;
  if ((step == LMIG_RST_STEP_OPEN_VMA || step == LMIG_RST_STEP_MAP_VMA ||
       step == LMIG_RST_STEP_PROTECT || step == LMIG_RST_STEP_MADVISE ||
       step == LMIG_RST_STEP_MLOCK) &&
      arg < plan_.vma_index.size()) {
    const VmaImage &v = image_->vmas[plan_.vma_index[arg]];
    detail = " " + hex(v.start) + "-" + hex(v.end) + (v.path.empty() ? "" : " (" + v.path + ")");
  } else if (step == LMIG_RST_STEP_FDS && arg < plan_.files.size()) {
    const FilePlan &f = plan_.files[arg];
    detail = " fd " + (f.targets.empty() ? std::string("?") : std::to_string(f.targets[0].fd)) +
             " (" + (f.path.empty() ? std::string(file_kind_name(f.kind)) : f.path) + ")";
  } else if (step == LMIG_RST_STEP_THREAD || step == LMIG_RST_STEP_ROBUST ||
             step == LMIG_RST_STEP_RSEQ) {
    detail = arg < image_->threads.size()
                 ? " (thread " + std::to_string(image_->threads[arg].tid) + ")"
                 : "";
  } else if (step == LMIG_RST_STEP_SIGACTION || step == LMIG_RST_STEP_RLIMIT) {
    detail = " " + std::to_string(arg);
  } else if (step == LMIG_RST_STEP_CREDS || step == LMIG_RST_STEP_CAPS) {
    static const char *const calls[] = {"?",          "setgroups",  "setresgid", "setresuid",
                                        "setfsgid",   "setfsuid",   "keep caps", "securebits",
                                        "capset",     "ambient set", "bounding set"};
    detail = std::string(" (") + (arg < std::size(calls) ? calls[arg] : "?") + ")";
  } else if (step == LMIG_RST_STEP_SECCOMP) {
    detail = arg == ~0ull ? " (strict mode)" : " (filter " + std::to_string(arg) + ")";
  } else if (step == LMIG_RST_STEP_PRCTL || step == LMIG_RST_STEP_PDEATHSIG ||
             step == LMIG_RST_STEP_PERSONALITY) {
    detail = " " + std::to_string(arg);
  } else if (step == LMIG_RST_STEP_CWD) {
    detail = " " + plan_.cwd;
  } else if (step == kStepSpawn) {
    detail = " " + std::to_string(arg);
  }
  int e = static_cast<int>(-err);
  return make_error(LMIG_ERR_TARGET_FAILED,
                    std::string("restore failed: ") + step_name(step) + detail +
                        (e > 0 ? std::string(": ") + std::strerror(e) : ""),
                    e > 0 ? e : 0);
}

// Waits for a control message of want_type, or (want_trap) for the restore
// child to stop at the restorer's int3, while watching for the restore
// going wrong: an error message, a crash, an exit.
Status RestoredProcess::wait_event(int timeout_ms, uint32_t want_type, bool want_trap,
                                   const std::function<std::optional<Error>()> &abandon) {
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
  bool leader_trapped = false;
  for (;;) {
    if (abandon)
      if (auto e = abandon())
        return *e;
    if (ctl_) {
      lmig_rst_msg m{};
      UniqueFd passed;
      ssize_t n = recv_ctl(ctl_.get(), m, passed);
      if (n == sizeof m) {
        if (m.type == LMIG_RST_MSG_ERROR)
          return restorer_error(m.step, m.err, m.arg);
        if (m.type == kMsgSpawned && pid_ < 0) {
          LMIG_ASSIGN_OR_RETURN(pid_, child_of(spawner_, plan_.vpid));
          // Into its cgroup before it maps or fills any memory: pages are
          // charged where they are first touched.
          LMIG_TRY(place_in_cgroup());
          // Seccomp suspended until we let go: the restorer installs the
          // saved filters before its rt_sigreturn, and we still run a
          // munmap in the task after it. Threads it creates are traced
          // from their clone, with the same options.
          LMIG_TRY(ptrace::seize(pid_, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL |
                                           PTRACE_O_TRACECLONE |
                                           (image_->seccomp.empty() ? 0 : PTRACE_O_SUSPEND_SECCOMP)));
          traced_ = true;
          writer_ = PageWriter(pid_);
          lmig_rst_msg begin{LMIG_RST_MSG_BEGIN, 0, 0, 0};
          if (::send(ctl_.get(), &begin, sizeof begin, MSG_NOSIGNAL) != sizeof begin)
            return sys_error("send BEGIN to the restore child");
        } else if (m.type == LMIG_RST_MSG_MAPPED) {
          if (passed)
            uffd_ = std::move(passed);
        }
        if (m.type == want_type)
          return {};
        continue;
      }
      if (n == 0 && !want_trap) // every holder closed its end
        ctl_.reset();
    }
    for (size_t i = 0; i < threads_.size(); i++) {
      int status = 0;
      pid_t r = ::waitpid(threads_[i], &status, __WALL | WNOHANG);
      if (r == threads_[i])
        LMIG_TRY(follow_thread(i, status));
    }
    if (leader_trapped) {
      size_t trapped = static_cast<size_t>(
          std::count(thread_trapped_.begin(), thread_trapped_.end(), true));
      if (trapped + 1 == plan_.threads)
        return {};
    }
    if (pid_ > 0 && !leader_trapped) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, __WALL | WNOHANG);
      if (r == pid_) {
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
          traced_ = false;
          pid_ = -1;
          return make_error(LMIG_ERR_TARGET_FAILED,
                            WIFEXITED(status)
                                ? "restore failed: the restore child exited with status " +
                                      std::to_string(WEXITSTATUS(status))
                                : "restore failed: the restore child was killed by signal " +
                                      std::to_string(WTERMSIG(status)));
        }
        int sig = WSTOPSIG(status);
        int event = (status >> 16) & 0xff;
        if (sig == SIGTRAP && event == PTRACE_EVENT_CLONE) {
          unsigned long tid = 0;
          if (::ptrace(PTRACE_GETEVENTMSG, pid_, nullptr, &tid) < 0)
            return sys_error("PTRACE_GETEVENTMSG after a clone of the restorer");
          threads_.push_back(static_cast<pid_t>(tid));
          thread_trapped_.push_back(false);
          LMIG_TRY(ptrace::cont(pid_));
          continue;
        }
        if (want_trap && sig == SIGTRAP && event == 0) {
          leader_trapped = true;
          continue;
        }
        siginfo_t si{};
        ::ptrace(PTRACE_GETSIGINFO, pid_, nullptr, &si);
        auto regs = ptrace::get_regs(pid_);
        return make_error(LMIG_ERR_TARGET_FAILED,
                          "restore failed: the restorer stopped with " +
                              std::string(strsignal(sig)) + " at rip " +
                              (regs.ok() ? hex((*regs)[kRip]) : "?") + " (address " +
                              hex(reinterpret_cast<uint64_t>(si.si_addr)) + ")");
      }
    } else {
      siginfo_t si{};
      if (::waitid(P_PIDFD, static_cast<id_t>(init_pidfd_.get()), &si, WEXITED | WNOHANG) == 0 &&
          si.si_pid != 0) {
        init_pid_ = -1;
        return make_error(LMIG_ERR_TARGET_FAILED,
                          "restore failed: the namespace init exited (status " +
                              std::to_string(si.si_status) + ")");
      }
    }
    if (now_ns() >= deadline)
      return make_error(LMIG_ERR_TIMEOUT, "restore did not progress within " +
                                              std::to_string(timeout_ms) + " ms");
    // Short naps: a traced stop is not pollable, and every wait here is
    // part of the downtime.
    pollfd p{ctl_ ? ctl_.get() : -1, POLLIN, 0};
    timespec nap{0, 50 * 1000};
    ::ppoll(&p, 1, &nap, nullptr);
  }
}

Status RestoredProcess::follow_thread(size_t i, int status) {
  const pid_t tid = threads_[i];
  const std::string who = "restore failed: thread " + std::to_string(i + 1) + " of " +
                          std::to_string(plan_.threads);
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    threads_.erase(threads_.begin() + static_cast<long>(i));
    thread_trapped_.erase(thread_trapped_.begin() + static_cast<long>(i));
    return make_error(LMIG_ERR_TARGET_FAILED,
                      who + (WIFEXITED(status)
                                 ? " exited with status " + std::to_string(WEXITSTATUS(status))
                                 : " was killed by signal " + std::to_string(WTERMSIG(status))));
  }
  int sig = WSTOPSIG(status);
  int event = (status >> 16) & 0xff;
  if (event == PTRACE_EVENT_STOP) // the stop it was born in (auto-attached)
    return ptrace::cont(tid);
  if (sig == SIGTRAP && event == 0) {
    thread_trapped_[i] = true;
    return {};
  }
  auto regs = ptrace::get_regs(tid);
  return make_error(LMIG_ERR_TARGET_FAILED, who + " stopped with " + std::string(strsignal(sig)) +
                                                " at rip " + (regs.ok() ? hex((*regs)[kRip]) : "?"));
}

Status RestoredProcess::wait_mapped(int timeout_ms) {
  LMIG_TRY(wait_event(timeout_ms, LMIG_RST_MSG_MAPPED, false));
  if (!plan_.uffd_ranges.empty() && !uffd_)
    return make_error(LMIG_ERR_TARGET_FAILED, "restore failed: no userfaultfd arrived");
  return {};
}

Status RestoredProcess::run(int timeout_ms,
                            const std::function<std::optional<Error>()> &abandon) {
  lmig_rst_msg go{LMIG_RST_MSG_GO, 0, 0, 0};
  if (::send(ctl_.get(), &go, sizeof go, MSG_NOSIGNAL) != sizeof go)
    return sys_error("send GO to the restorer");
  LMIG_TRY(wait_event(timeout_ms, 0, true, abandon));
  LMIG_TRY(enter_saved_context());
  running_ = true;
  ctl_.reset();
  return {};
}

Status RestoredProcess::place_in_cgroup() {
  if (plan_.cgroup_dirs.empty())
    return {};
  if (auto st = join_cgroups(pid_, plan_.cgroup_dirs, plan_.cgroup_create); !st.ok())
    return std::move(st).error().context("restore failed");
  return {};
}

// What is set from here once every thread exists and before any runs its
// own code: scheduling and OOM standing (what raises a priority needs
// privileges the process itself may not have), and the owners of files'
// I/O signals (an owner may be a thread). A thread is found by the TID it
// has in its own PID namespace.
Status RestoredProcess::apply_from_outside() {
  std::vector<pid_t> tids = threads_;
  tids.insert(tids.begin(), pid_);
  std::map<pid_t, pid_t> host_of; // as the process sees it -> here
  for (pid_t host_tid : tids) {
    LMIG_ASSIGN_OR_RETURN(auto st, read_status(host_tid));
    const pid_t vtid = st.nspid.empty() ? host_tid : st.nspid.back();
    host_of[vtid] = host_tid;
    for (const auto &s : plan_.sched) {
      if (s.tid != vtid)
        continue;
      sched_param param{};
      param.sched_priority = static_cast<int>(s.priority);
      if (::sched_setscheduler(host_tid, static_cast<int>(s.policy), &param) < 0)
        return sys_error("restore failed: scheduling policy " + std::to_string(s.policy) +
                         " of thread " + std::to_string(vtid));
      if (::setpriority(PRIO_PROCESS, static_cast<id_t>(host_tid), s.nice) < 0)
        return sys_error("restore failed: nice " + std::to_string(s.nice) + " of thread " +
                         std::to_string(vtid));
    }
  }
  const std::string oom = std::to_string(plan_.oom_score_adj);
  const std::string path = "/proc/" + std::to_string(pid_) + "/oom_score_adj";
  UniqueFd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!f || ::write(f.get(), oom.data(), oom.size()) != static_cast<ssize_t>(oom.size()))
    return sys_error("restore failed: oom_score_adj " + oom);
  if (plan_.fd_owners.empty())
    return {};
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  if (!pidfd)
    return sys_error("restore failed: pidfd_open of the restored process");
  for (const auto &o : plan_.fd_owners) {
    UniqueFd dup(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), o.fd, 0)));
    if (!dup)
      return sys_error("restore failed: take fd " + std::to_string(o.fd) + " to set its owner");
    if (o.signal && ::fcntl(dup.get(), F_SETSIG, o.signal) < 0)
      return sys_error("restore failed: F_SETSIG of fd " + std::to_string(o.fd));
    if (o.owner) {
      auto it = host_of.find(o.owner);
      if (it == host_of.end())
        return make_error(LMIG_ERR_TARGET_FAILED, "restore failed: fd " + std::to_string(o.fd) +
                                                      ": its I/O signal owner " +
                                                      std::to_string(o.owner) + " is not here");
      f_owner_ex owner{static_cast<__pid_type>(o.owner_type), it->second};
      if (::fcntl(dup.get(), F_SETOWN_EX, &owner) < 0)
        return sys_error("restore failed: F_SETOWN_EX of fd " + std::to_string(o.fd));
    }
  }
  return {};
}

// The restorer stopped at its int3 just before rt_sigreturn. Follow the
// sigreturn to its exit stop, where the registers are the saved context;
// run one munmap of the restorer's region from there (the thread never
// returns into it); put the saved registers back and let go.
Status RestoredProcess::enter_saved_context() {
  auto syscall_stop = [&](pid_t tid, const char *what) -> Status {
    LMIG_TRY(ptrace::syscall_step(tid));
    LMIG_ASSIGN_OR_RETURN(auto st, ptrace::wait_stop(tid));
    if (st.kind != ptrace::StopInfo::syscall_stop)
      return make_error(LMIG_ERR_TARGET_FAILED, std::string("restore failed: ") + what +
                                                    ": the process reported a " +
                                                    ptrace::describe(st) + " (signal " +
                                                    std::to_string(st.sig) + ")");
    return {};
  };
  // Every created thread through its rt_sigreturn first: none may still be
  // in the region when it goes.
  for (pid_t tid : threads_) {
    LMIG_TRY(syscall_stop(tid, "rt_sigreturn entry of a thread"));
    LMIG_TRY(syscall_stop(tid, "rt_sigreturn exit of a thread"));
    LMIG_ASSIGN_OR_RETURN(RegsImage saved, ptrace::get_regs(tid));
    saved[kOrigRax] = static_cast<uint64_t>(-1);
    LMIG_TRY(ptrace::set_regs(tid, saved));
  }
  LMIG_TRY(syscall_stop(pid_, "rt_sigreturn entry"));
  LMIG_TRY(syscall_stop(pid_, "rt_sigreturn exit"));
  LMIG_ASSIGN_OR_RETURN(RegsImage saved, ptrace::get_regs(pid_));
  // The saved mask is in effect now: a queued signal it lets through would
  // stop the munmap below. Block everything for it; the signal is delivered
  // once we let go.
  LMIG_ASSIGN_OR_RETURN(uint64_t saved_mask, ptrace::get_sigmask(pid_));
  LMIG_TRY(ptrace::set_sigmask(pid_, ~0ull));
  // Each thread reached its stop through an int3 with SIGTRAP blocked, and
  // for a trap the kernel then resets the process's SIGTRAP action to the
  // default: a process with a SIGTRAP handler would die of its next trap.
  // Put the saved action back, from the args still in the region.
  if (plan_.sigtrap_action) {
    RegsImage r = saved;
    r[kRip] = plan_.self_unmap; // a syscall instruction in the region
    r[kRax] = SYS_rt_sigaction;
    r[kOrigRax] = static_cast<uint64_t>(-1);
    r[kRdi] = SIGTRAP;
    r[kRsi] = plan_.sigtrap_action;
    r[kRdx] = 0;
    r[kR10] = 8;
    LMIG_TRY(ptrace::set_regs(pid_, r));
    LMIG_TRY(syscall_stop(pid_, "rt_sigaction entry"));
    LMIG_TRY(syscall_stop(pid_, "rt_sigaction exit"));
    LMIG_ASSIGN_OR_RETURN(RegsImage after, ptrace::get_regs(pid_));
    if (after[kRax] != 0)
      return make_error(LMIG_ERR_TARGET_FAILED,
                        "restore failed: putting the SIGTRAP action back: " +
                            std::string(std::strerror(static_cast<int>(-static_cast<int64_t>(after[kRax])))));
  }
  RegsImage r = saved;
  r[kRip] = plan_.self_unmap;
  r[kRax] = SYS_munmap;
  r[kOrigRax] = static_cast<uint64_t>(-1);
  r[kRdi] = plan_.region_start;
  r[kRsi] = plan_.region_len;
  LMIG_TRY(ptrace::set_regs(pid_, r));
  LMIG_TRY(syscall_stop(pid_, "munmap entry"));
  LMIG_TRY(syscall_stop(pid_, "munmap exit"));
  LMIG_ASSIGN_OR_RETURN(RegsImage after, ptrace::get_regs(pid_));
  if (after[kRax] != 0)
    return make_error(LMIG_ERR_TARGET_FAILED, "restore failed: unmapping the restorer region: " +
                                                  std::string(std::strerror(static_cast<int>(-static_cast<int64_t>(after[kRax])))));
  saved[kOrigRax] = static_cast<uint64_t>(-1);
  LMIG_TRY(ptrace::set_regs(pid_, saved));
  LMIG_TRY(ptrace::set_sigmask(pid_, saved_mask));
  LMIG_TRY(apply_from_outside());
  for (pid_t tid : threads_)
    LMIG_TRY(ptrace::detach(tid));
  LMIG_TRY(ptrace::detach(pid_));
  traced_ = false;
  return {};
}

} // namespace lmig
