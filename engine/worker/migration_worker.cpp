#include "engine/worker/migration_worker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <type_traits>

#include "engine/base/unique_fd.hpp"

namespace lmig {
namespace {

// One message from the worker: progress, or the result (the last).
struct WorkerMsg {
  enum Type : uint32_t { progress = 1, result = 2 } type;
  lmig_phase phase;
  uint64_t done, total;
  lmig_status code;
  int32_t sys_errno;
  Side side;
  lmig_stats stats;
  char message[4096];
};
static_assert(std::is_trivially_copyable_v<WorkerMsg>);

bool send_msg(int fd, const WorkerMsg &m) {
  return ::send(fd, &m, sizeof m, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof m);
}

[[noreturn]] void worker_main(int fd, pid_t caller, pid_t pid, MigrateOptions opts,
                             lmig_stats stats) {
  ::prctl(PR_SET_NAME, "lmig-worker");
  // The terminal's signals (Ctrl-C reaches the whole process group) must
  // not end us in the middle of a remote system call: the caller's death
  // cancels instead, at the next safe point.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU})
    ::signal(sig, SIG_IGN);
  // Nor may a kill of the caller's process group (a shell's `kill -9 %1`,
  // a supervisor's) or the OOM killer: SIGKILL cannot be ignored, so the
  // worker leaves the group and asks the kernel to spare it (best effort:
  // root may).
  (void)::setpgid(0, 0);
  if (int f = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC); f >= 0) {
    (void)!::write(f, "-1000", 5);
    ::close(f);
  }
  std::atomic<bool> caller_gone{false};
  std::thread watch([fd, &caller_gone] {
    pollfd p{fd, POLLRDHUP, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    caller_gone = true;
  });
  watch.detach(); // it may wait for good: the process ends without it
  opts.caller_gone = [&caller_gone] { return caller_gone.load(); };
  opts.progress = nullptr;
  opts.report = [fd](lmig_phase phase, uint64_t done, uint64_t total) {
    WorkerMsg m{};
    m.type = WorkerMsg::progress;
    m.phase = phase;
    m.done = done;
    m.total = total;
    (void)send_msg(fd, m);
  };
  Status st = pid == caller ? Status(make_error(LMIG_ERR_NOT_MIGRATABLE,
                                                "PID " + std::to_string(pid) +
                                                    " cannot be migrated: it is lmig itself"))
                           : migrate_process(pid, opts, stats);
  static WorkerMsg m{}; // 5 KiB: not on a thread's stack
  m.type = WorkerMsg::result;
  m.stats = stats;
  m.code = st.ok() ? LMIG_OK : st.error().code;
  if (!st.ok()) {
    m.sys_errno = st.error().sys_errno;
    m.side = st.error().side;
    std::strncpy(m.message, st.error().message.c_str(), sizeof m.message - 1);
  }
  (void)send_msg(fd, m);
  ::_exit(0);
}

} // namespace

Status migrate_in_worker(pid_t pid, const MigrateOptions &opts, lmig_stats &stats) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return sys_error("socketpair for the migration worker");
  UniqueFd ours(sv[0]), theirs(sv[1]);
  const pid_t caller = ::getpid();
  const pid_t worker = ::fork();
  if (worker < 0)
    return sys_error("fork the migration worker");
  if (worker == 0) {
    ours.reset();
    worker_main(theirs.get(), caller, pid, opts, stats);
  }
  theirs.reset();
  WorkerMsg m{};
  bool have_result = false;
  for (;;) {
    ssize_t n = ::recv(ours.get(), &m, sizeof m, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n != static_cast<ssize_t>(sizeof m))
      break;
    if (m.type == WorkerMsg::result) {
      have_result = true;
      break;
    }
    if (m.type == WorkerMsg::progress && opts.progress)
      opts.progress(opts.progress_user, m.phase, m.done, m.total);
  }
  // Ours to reap (a reaper thread of the caller may have been first).
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(worker, &status, __WALL)) < 0 && errno == EINTR) {
  }
  if (!have_result) {
    std::string how = r != worker           ? "ended"
                      : WIFSIGNALED(status) ? "was killed by signal " +
                                                  std::to_string(WTERMSIG(status))
                                            : "exited with status " +
                                                  std::to_string(WEXITSTATUS(status));
    return make_error(LMIG_ERR_INTERNAL,
                      "the migration worker (PID " + std::to_string(worker) + ") " + how +
                          " without a result; the source process " + std::to_string(pid) +
                          " is running if this happened before the switchover, stopped after");
  }
  stats = m.stats;
  if (m.code == LMIG_OK)
    return {};
  m.message[sizeof m.message - 1] = '\0';
  Error e = make_error(m.code, m.message, m.sys_errno);
  e.side = m.side;
  return e;
}

} // namespace lmig
