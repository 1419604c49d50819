#include "engine/restore/spawn.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/restore/restorer_blob.hpp"
#include "restorer/restorer_args.h"

namespace lmig {
namespace {

// ---- code that runs after clone: syscalls and the plan only ----------------

void child_send(int ctl, uint32_t type, uint32_t step, long err, uint64_t arg) {
  lmig_rst_msg m{type, step, err, arg};
  ::send(ctl, &m, sizeof m, MSG_NOSIGNAL);
}

[[noreturn]] void child_fail(int ctl, uint32_t step, int err, uint64_t arg) {
  child_send(ctl, LMIG_RST_MSG_ERROR, step, -err, arg);
  ::_exit(100 + static_cast<int>(step));
}

// Moves fd above every fd the process will have, so placing targets never
// clobbers a descriptor still needed.
int lift(int fd, int floor) {
  int hi = ::fcntl(fd, F_DUPFD_CLOEXEC, floor);
  ::close(fd);
  return hi;
}

void place(int ctl, int src, const FilePlan &f, uint64_t index) {
  for (const auto &t : f.targets)
    if (::dup3(src, t.fd, t.cloexec ? O_CLOEXEC : 0) < 0)
      child_fail(ctl, LMIG_RST_STEP_FDS, errno, index);
}

void open_fds(int ctl, RestorePlan &plan) {
  const int floor = plan.ctl_fd + 1;
  for (auto &p : plan.pipes) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0)
      child_fail(ctl, LMIG_RST_STEP_FDS, errno, 0);
    p.fds[0] = lift(fds[0], floor);
    p.fds[1] = lift(fds[1], floor);
    if (p.capacity && ::fcntl(p.fds[1], F_SETPIPE_SZ, static_cast<int>(p.capacity)) < 0)
      child_fail(ctl, LMIG_RST_STEP_FDS, errno, 0);
    const auto &data = *p.data;
    size_t off = 0;
    while (off < data.size()) {
      ssize_t w = ::write(p.fds[1], data.data() + off, data.size() - off);
      if (w <= 0)
        child_fail(ctl, LMIG_RST_STEP_FDS, w < 0 ? errno : EIO, 0);
      off += static_cast<size_t>(w);
    }
  }
  for (size_t i = 0; i < plan.files.size(); i++) {
    const FilePlan &f = plan.files[i];
    int src;
    if (f.kind == FileKind::pipe) {
      src = plan.pipes[static_cast<size_t>(f.pipe_index)].fds[f.write_end ? 1 : 0];
      if (::fcntl(src, F_SETFL, static_cast<int>(f.flags)) < 0)
        child_fail(ctl, LMIG_RST_STEP_FDS, errno, i);
      place(ctl, src, f, i);
      continue;
    }
    int flags = static_cast<int>(f.flags) & ~(O_CREAT | O_EXCL | O_TRUNC);
    src = ::open(f.path.c_str(), flags | O_NOCTTY | O_CLOEXEC);
    if (src < 0)
      child_fail(ctl, LMIG_RST_STEP_FDS, errno, i);
    src = lift(src, floor);
    if (f.pos && f.kind != FileKind::char_device &&
        ::lseek(src, static_cast<off_t>(f.pos), SEEK_SET) < 0)
      child_fail(ctl, LMIG_RST_STEP_FDS, errno, i);
    place(ctl, src, f, i);
    ::close(src);
  }
  for (auto &p : plan.pipes) {
    ::close(p.fds[0]);
    ::close(p.fds[1]);
  }
}

[[noreturn]] void restore_child_main(RestorePlan &plan, int ctl) {
  lmig_rst_msg m{};
  if (::recv(ctl, &m, sizeof m, 0) != sizeof m || m.type != LMIG_RST_MSG_BEGIN)
    ::_exit(100 + LMIG_RST_STEP_CTL);

  // Only the control socket survives, at a number the process does not use.
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  if (static_cast<rlim_t>(plan.ctl_fd) + 64 >= nofile.rlim_cur) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  if (ctl != plan.ctl_fd) {
    if (::dup3(ctl, plan.ctl_fd, O_CLOEXEC) < 0)
      child_fail(ctl, LMIG_RST_STEP_CTL, errno, 0);
    ctl = plan.ctl_fd;
  }
  if (ctl > 0)
    ::syscall(SYS_close_range, 0, ctl - 1, 0);
  ::syscall(SYS_close_range, ctl + 1, ~0u, 0);

  open_fds(ctl, plan);
  if (::chdir(plan.cwd.c_str()) < 0)
    child_fail(ctl, LMIG_RST_STEP_CWD, errno, 0);
  ::umask(plan.umask);
  // The init named itself; the restored thread takes back its own name.
  ::prctl(PR_SET_NAME, plan.comm.c_str());

  // This thread inherited lmigd's rseq registration; its area is about to be
  // unmapped, and the kernel would fault on it. The saved one is registered
  // by the restorer.
  if (__rseq_size > 0) {
    auto *area = reinterpret_cast<char *>(__builtin_thread_pointer()) + __rseq_offset;
    if (::syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) < 0 &&
        ::syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) < 0)
      child_fail(ctl, LMIG_RST_STEP_RSEQ, errno, 0);
  }
  void *region = ::mmap(reinterpret_cast<void *>(plan.region_start), plan.region_len,
                        PROT_READ | PROT_WRITE | PROT_EXEC,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (region == MAP_FAILED)
    child_fail(ctl, LMIG_RST_STEP_REGION, errno, plan.region_start);
  std::memcpy(region, lmig_restorer_blob, lmig_restorer_blob_size);
  std::memcpy(reinterpret_cast<void *>(plan.args_addr), plan.args.data(), plan.args.size());
  __asm__ volatile("mov %0, %%rsp\n\t"
                   "xor %%ebp, %%ebp\n\t"
                   "jmp *%1\n\t"
                   :
                   : "r"(plan.stack_top), "r"(plan.entry), "D"(plan.args_addr)
                   : "memory");
  __builtin_unreachable();
}

long clone3_raw(clone_args *args) { return ::syscall(SYS_clone3, args, sizeof(clone_args)); }

[[noreturn]] void init_main(RestorePlan &plan, int ctl) {
  ::prctl(PR_SET_NAME, "lmig-init");
  // Hold nothing of lmigd's (its listening socket, other migrations).
  if (ctl > 0)
    ::syscall(SYS_close_range, 0, ctl - 1, 0);
  ::syscall(SYS_close_range, ctl + 1, ~0u, 0);

  pid_t tid = plan.vpid;
  clone_args ca{};
  ca.exit_signal = SIGCHLD;
  ca.set_tid = reinterpret_cast<uint64_t>(&tid);
  ca.set_tid_size = 1;
  long child = clone3_raw(&ca);
  if (child < 0)
    child_fail(ctl, kStepSpawn, errno, static_cast<uint64_t>(plan.vpid));
  if (child == 0)
    restore_child_main(plan, ctl);
  child_send(ctl, kMsgSpawned, 0, 0, static_cast<uint64_t>(child));
  ::close(ctl);
  // Reap everything in the namespace; leave with the restored process.
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(-1, &status, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      ::_exit(0);
    if (r == child)
      ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
}

} // namespace

Result<RestoreTree> spawn_restore_tree(RestorePlan &plan) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return sys_error("socketpair");
  UniqueFd ours(sv[0]), theirs(sv[1]);
  int pidfd = -1;
  clone_args ca{};
  ca.flags = CLONE_NEWPID | CLONE_PIDFD;
  ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  ca.exit_signal = SIGCHLD;
  long pid = clone3_raw(&ca);
  if (pid < 0)
    return sys_error("clone3 a PID namespace for the restore");
  if (pid == 0)
    init_main(plan, theirs.get());
  RestoreTree t;
  t.init_pid = static_cast<pid_t>(pid);
  t.init_pidfd.reset(pidfd);
  t.ctl = std::move(ours);
  return t;
}

} // namespace lmig
