#include "engine/restore/spawn.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/restore/fd_create.hpp"
#include "engine/restore/lifeline.hpp"
#include "engine/restore/restorer_blob.hpp"
#include "engine/restore/timers_restore.hpp"
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

void place(int ctl, int src, const FilePlan &f, uint64_t index) {
  for (const auto &t : f.targets)
    if (::dup3(src, t.fd, t.cloexec ? O_CLOEXEC : 0) < 0)
      child_fail(ctl, LMIG_RST_STEP_FDS, errno, index);
}

// r: an fd, or -errno from the fd_create helpers.
int check(int ctl, int r, uint64_t index) {
  if (r < 0)
    child_fail(ctl, LMIG_RST_STEP_FDS, -r, index);
  return r;
}

// Another fd for the same open file, above the floor; -errno.
int dup_above(int fd, int floor) {
  int r = ::fcntl(fd, F_DUPFD_CLOEXEC, floor);
  return r < 0 ? -errno : r;
}

// Opens (or makes) one open file; returns an fd above the floor.
int open_file(int ctl, RestorePlan &plan, const FilePlan &f, uint64_t i, int floor) {
  switch (f.kind) {
  case FileKind::pipe: // made with its other end
    return check(ctl, dup_above(plan.pipes[static_cast<size_t>(f.pipe_index)].fds[f.write_end],
                                floor),
                 i);
  case FileKind::fifo:
    return check(ctl, child::open_fifo(f.path.c_str(), f.flags, floor), i);
  case FileKind::deleted:
  case FileKind::memfd: {
    const auto &c = plan.contents[static_cast<size_t>(f.contents_index)];
    // The kernel lets a memfd be executed through the file memfd_create
    // made while that file writes to it, not through a reopened one
    // (ETXTBSY): the first read-write open of a memfd is that file itself.
    if (f.kind == FileKind::memfd && c.first_file == i && (f.flags & O_ACCMODE) == O_RDWR)
      return check(ctl, dup_above(c.fd, floor), i);
    return check(ctl, child::reopen(c.fd, f.flags, floor), i);
  }
  case FileKind::unix_socket: // made with its peer
    return check(ctl,
                 dup_above(plan.socket_pairs[static_cast<size_t>(f.socket_index)].fds[f.socket_end],
                           floor),
                 i);
  case FileKind::eventfd: return check(ctl, child::make_eventfd(*f.eventfd, floor), i);
  case FileKind::signalfd: return check(ctl, child::make_signalfd(*f.signalfd, floor), i);
  case FileKind::timerfd: return check(ctl, child::make_timerfd(*f.timerfd, floor), i);
  case FileKind::epoll: return check(ctl, child::make_epoll(floor), i);
  case FileKind::inotify: return check(ctl, child::make_inotify(*f.inotify, floor), i);
  case FileKind::regular:
  case FileKind::directory:
  case FileKind::char_device: break;
  }
  int flags = static_cast<int>(f.flags) & ~(O_CREAT | O_EXCL | O_TRUNC);
  int src = ::open(f.path.c_str(), flags | O_NOCTTY | O_CLOEXEC);
  if (src < 0)
    child_fail(ctl, LMIG_RST_STEP_FDS, errno, i);
  src = check(ctl, child::lift(src, floor), i);
  if (f.pos && f.kind != FileKind::char_device &&
      ::lseek(src, static_cast<off_t>(f.pos), SEEK_SET) < 0)
    child_fail(ctl, LMIG_RST_STEP_FDS, errno, i);
  return src;
}

void open_fds(int ctl, RestorePlan &plan) {
  const int floor = std::max(plan.ctl_fd, plan.handoff_end) + 1;
  // What several files share, made first: pipes and FIFO buffers, the
  // inodes of memfds and deleted files, socket pairs with their queues.
  for (auto &p : plan.pipes)
    check(ctl, p.fifo_path.empty() ? child::make_pipe(p, floor) : child::hold_fifo(p, floor),
          p.first_file);
  for (size_t i = 0; i < plan.contents.size(); i++) {
    auto &c = plan.contents[i];
    int r;
    if (c.slot >= 0) { // the root made it
      r = dup_above(plan.handoff_base + c.slot, floor);
      if (r >= 0)
        c.fd = r;
    } else {
      r = child::make_contents(c, floor);
    }
    if (r < 0 && c.first_file == kNoFile) // only mappings reach it
      child_fail(ctl, LMIG_RST_STEP_SHMEM, -r, i);
    check(ctl, r, c.first_file);
  }
  for (auto &s : plan.socket_pairs)
    check(ctl, child::make_socket_pair(s, floor), s.first_file);

  for (size_t i = 0; i < plan.files.size(); i++) {
    const FilePlan &f = plan.files[i];
    if (f.slot >= 0) { // made by the tree's root, inherited as it stands
      int src = check(ctl, dup_above(plan.handoff_base + f.slot, floor), i);
      place(ctl, src, f, i);
      ::close(src);
      continue;
    }
    int src = open_file(ctl, plan, f, i, floor);
    // Status flags (O_APPEND, O_NONBLOCK, ...) of what was not opened with
    // them; the offset of what was reopened.
    if (f.kind != FileKind::regular && f.kind != FileKind::directory &&
        f.kind != FileKind::char_device && ::fcntl(src, F_SETFL, static_cast<int>(f.flags)) < 0)
      child_fail(ctl, LMIG_RST_STEP_FDS, errno, i);
    if ((f.kind == FileKind::deleted || f.kind == FileKind::memfd) && f.pos &&
        ::lseek(src, static_cast<off_t>(f.pos), SEEK_SET) < 0)
      child_fail(ctl, LMIG_RST_STEP_FDS, errno, i);
    place(ctl, src, f, i);
    ::close(src);
  }
  // Every fd is in place: epoll instances watch them by number.
  for (size_t i = 0; i < plan.files.size(); i++) {
    const FilePlan &f = plan.files[i];
    if (f.kind == FileKind::epoll && !f.targets.empty())
      check(ctl, child::add_epoll_watches(f.targets[0].fd, *f.epoll), i);
  }
  for (auto &p : plan.pipes)
    for (int fd : p.fds)
      if (fd >= 0)
        ::close(fd);
  // A mapped inode stays open until the restorer has mapped it.
  for (size_t i = 0; i < plan.contents.size(); i++) {
    auto &c = plan.contents[i];
    if (c.mapped_ro)
      c.ro_fd = check(ctl, child::reopen(c.fd, O_RDONLY, floor), c.first_file);
    if (!c.mapped_rw) // the restorer closes what it maps; nothing else may stay
      ::close(c.fd);
  }
  for (const auto &m : plan.map_fds) {
    const auto &c = plan.contents[static_cast<size_t>(m.contents_index)];
    const int32_t fd = m.read_only ? c.ro_fd : c.fd;
    std::memcpy(plan.args.data() + m.args_off, &fd, sizeof fd);
  }
  for (auto &s : plan.socket_pairs)
    for (int fd : s.fds)
      ::close(fd);
}

long clone3_raw(clone_args *args) { return ::syscall(SYS_clone3, args, sizeof(clone_args)); }

// fork() with the given PID (in the caller's PID namespace) and exit signal.
long fork_with_pid(pid_t pid, int exit_signal) {
  clone_args ca{};
  ca.exit_signal = static_cast<uint64_t>(exit_signal);
  ca.set_tid = reinterpret_cast<uint64_t>(&pid);
  ca.set_tid_size = 1;
  return clone3_raw(&ca);
}

[[noreturn]] void member_main(std::vector<SpawnMember> &members, size_t self);

// A zombie of the tree: it takes its group, session and name, and ends the
// way it ended on the source, so that its parent's wait() reports the same.
[[noreturn]] void zombie_main(const SpawnMember &z) {
  if (z.sid == z.pid)
    ::setsid();
  else
    ::setpgid(0, z.pgid);
  ::prctl(PR_SET_NAME, z.comm);
  if (WIFEXITED(z.wait_status))
    ::_exit(WEXITSTATUS(z.wait_status));
  const int sig = WTERMSIG(z.wait_status);
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core); // the status keeps no core-dump bit
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(sig, &dfl, nullptr);
  sigset_t one;
  ::sigemptyset(&one);
  ::sigaddset(&one, sig);
  ::sigprocmask(SIG_UNBLOCK, &one, nullptr);
  ::kill(::getpid(), sig);
  ::_exit(128 + sig);
}

// Forks members[child] from the calling restore child (its parent), with
// its PID, into its process group.
void fork_member(std::vector<SpawnMember> &members, size_t self, size_t child) {
  SpawnMember &c = members[child];
  const int ctl = members[self].ctl;
  long pid = fork_with_pid(c.pid, c.exit_signal);
  if (pid < 0)
    child_fail(ctl, kStepSpawn, errno, static_cast<uint64_t>(c.pid));
  if (pid == 0) {
    if (c.zombie)
      zombie_main(c);
    member_main(members, child);
  }
  // Both sides set the group, as shells do: a sibling forked next may
  // join it before the child has run.
  if (c.sid != c.pid)
    ::setpgid(static_cast<pid_t>(pid), c.pgid);
  if (c.zombie) {
    siginfo_t si{};
    ::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOWAIT);
  } else {
    child_send(c.ctl, kMsgSpawned, 0, 0, static_cast<uint64_t>(pid));
  }
}

[[noreturn]] void member_main(std::vector<SpawnMember> &members, size_t self) {
  RestorePlan &plan = *members[self].plan;
  int ctl = members[self].ctl;
  lmig_rst_msg m{};
  if (::recv(ctl, &m, sizeof m, 0) != sizeof m || m.type != LMIG_RST_MSG_BEGIN)
    ::_exit(100 + LMIG_RST_STEP_CTL);
  // Every signal stays blocked until the restorer enters the saved context
  // with the saved mask: timers made here and signals re-queued later must
  // wait for the process's own handlers.
  sigset_t all;
  ::sigfillset(&all);
  if (::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, nullptr, 8) < 0)
    child_fail(ctl, LMIG_RST_STEP_SIGMASK, errno, 0);
  // Its own session or group again, as on the source, before its children
  // are forked into them.
  const SpawnMember &me = members[self];
  if (me.sid == me.pid && ::setsid() < 0)
    child_fail(ctl, LMIG_RST_STEP_SESSION, errno, 0);
  if (me.sid != me.pid && me.parent >= 0 && ::setpgid(0, me.pgid) < 0)
    child_fail(ctl, LMIG_RST_STEP_SESSION, errno, static_cast<uint64_t>(me.pgid));
  // The root makes the open files the tree shares, for every member to
  // inherit through the forks below.
  if (members[self].shared)
    open_fds(ctl, *members[self].shared);
  // Its children of the tree, each of which goes on alone from here; the
  // zombies among them are dead when this returns. Their ending signalled
  // this process, which on the source had long taken that signal.
  uint64_t drain = 0;
  for (size_t j = self + 1; j < members.size(); j++)
    if (members[j].parent == static_cast<int>(self)) {
      fork_member(members, self, j);
      if (members[j].zombie && members[j].exit_signal > 0 && members[j].exit_signal <= 64)
        drain |= 1ull << (members[j].exit_signal - 1);
    }
  for (int sig = 1; sig <= 64; sig++)
    if (drain & (1ull << (sig - 1))) {
      uint64_t one = 1ull << (sig - 1);
      timespec zero{0, 0};
      ::syscall(SYS_rt_sigtimedwait, &one, nullptr, &zero, 8);
    }

  if (plan.test_fail_spawn)
    child_fail(ctl, kStepSpawn, ECANCELED, static_cast<uint64_t>(me.pid));

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
  // The shared files stay in their handoff slots until taken.
  if (ctl > 0)
    ::syscall(SYS_close_range, 0, ctl - 1, 0);
  if (plan.handoff_base > ctl + 1)
    ::syscall(SYS_close_range, ctl + 1, plan.handoff_base - 1, 0);
  ::syscall(SYS_close_range, std::max(ctl + 1, plan.handoff_end), ~0u, 0);

  open_fds(ctl, plan);
  if (plan.handoff_end > plan.handoff_base)
    ::syscall(SYS_close_range, plan.handoff_base, plan.handoff_end - 1, 0);
  if (plan.cwd_deleted) {
    // Where it was, or beside it when that name is taken again; the
    // process sees a removed directory either way.
    std::string dir = plan.cwd;
    if (::mkdir(dir.c_str(), 0700) < 0) {
      if (errno != EEXIST)
        child_fail(ctl, LMIG_RST_STEP_CWD, errno, 0);
      dir = plan.cwd.substr(0, std::max<size_t>(1, plan.cwd.rfind('/'))) + "/.lmig-cwd-XXXXXX";
      if (!::mkdtemp(dir.data()))
        child_fail(ctl, LMIG_RST_STEP_CWD, errno, 0);
    }
    if (::chdir(dir.c_str()) < 0 || ::rmdir(dir.c_str()) < 0)
      child_fail(ctl, LMIG_RST_STEP_CWD, errno, 0);
  } else if (::chdir(plan.cwd.c_str()) < 0) {
    child_fail(ctl, LMIG_RST_STEP_CWD, errno, 0);
  }
  ::umask(plan.umask);
  child::TimerFailure tf;
  if (!child::restore_timers(plan.timers, tf))
    child_fail(ctl, tf.step, tf.err, tf.arg);
  // The init named itself; the restored thread takes back its own name.
  ::prctl(PR_SET_NAME, plan.comm.c_str());
  // The rest of the process attributes follow in the restorer.
  if (plan.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    child_fail(ctl, LMIG_RST_STEP_PRCTL, errno, PR_SET_NO_NEW_PRIVS);
  if (plan.child_subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    child_fail(ctl, LMIG_RST_STEP_PRCTL, errno, PR_SET_CHILD_SUBREAPER);

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

// Closes every fd but those listed (sorted).
void close_all_but(const std::vector<int> &keep) {
  unsigned from = 0;
  for (int fd : keep) {
    if (static_cast<unsigned>(fd) > from)
      ::syscall(SYS_close_range, from, static_cast<unsigned>(fd) - 1, 0);
    from = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, from, ~0u, 0);
}

[[noreturn]] void init_main(std::vector<SpawnMember> &members, std::vector<int> &keep,
                           int ctl_floor, int lifeline) {
  ::prctl(PR_SET_NAME, "lmig-init");
  // The namespace's own /proc, in a mount namespace of its own that still
  // receives the host's mounts (a slave): /proc/PID then names the PIDs
  // the restored processes see, theirs and their children's.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0 ||
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0)
    child_fail(members[0].ctl, kStepProc, errno, 0);
  // The control sockets move above every fd any member restores and the
  // tree's handoff slots, so that no restore child overwrites another's.
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  if (static_cast<rlim_t>(ctl_floor) + members.size() + 64 >= nofile.rlim_cur) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  size_t k = 0;
  for (auto &m : members) {
    if (m.zombie)
      continue;
    int moved = ::fcntl(m.ctl, F_DUPFD_CLOEXEC, ctl_floor);
    if (moved < 0)
      child_fail(m.ctl, LMIG_RST_STEP_CTL, errno, 0);
    ::close(m.ctl);
    m.ctl = moved;
    keep[k++] = moved;
  }
  {
    int moved = ::fcntl(lifeline, F_DUPFD_CLOEXEC, ctl_floor);
    if (moved < 0)
      child_fail(members[0].ctl, LMIG_RST_STEP_CTL, errno, 0);
    ::close(lifeline);
    lifeline = moved;
    keep[k++] = moved;
  }
  std::sort(keep.begin(), keep.end());
  // Hold nothing of lmigd's (its listening socket, other migrations).
  close_all_but(keep);
  const int ctl = members[0].ctl;
  long child = fork_with_pid(members[0].pid, SIGCHLD);
  if (child < 0)
    child_fail(ctl, kStepSpawn, errno, static_cast<uint64_t>(members[0].pid));
  if (child == 0)
    member_main(members, 0);
  child_send(ctl, kMsgSpawned, 0, 0, static_cast<uint64_t>(child));
  for (int fd : keep)
    if (fd != lifeline)
      ::close(fd);
  // Reap everything in the namespace; leave with the restored process, or
  // take the namespace down if lmigd goes before its memory is all in.
  init_reap(static_cast<pid_t>(child), lifeline);
}

} // namespace

Result<RestoreTree> spawn_restore_tree(std::vector<SpawnMember> &members) {
  RestoreTree t;
  std::vector<int> keep; // the ends the restore children use
  for (auto &m : members) {
    if (m.zombie) {
      t.ctl.emplace_back();
      continue;
    }
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
      return sys_error("socketpair");
    t.ctl.emplace_back(sv[0]);
    m.ctl = sv[1];
    keep.push_back(sv[1]);
  }
  LMIG_ASSIGN_OR_RETURN(auto lifeline, make_lifeline());
  keep.push_back(lifeline.second.get());
  // Ours close their ends when this returns; the init keeps its copies.
  std::vector<UniqueFd> theirs;
  for (int fd : keep)
    if (fd != lifeline.second.get())
      theirs.emplace_back(fd);
  std::sort(keep.begin(), keep.end());
  // Above every fd of every plan (the handoff slots included) and every
  // fd lmigd gave the init.
  int ctl_floor = keep.empty() ? 3 : keep.back() + 1;
  for (const auto &m : members)
    if (m.plan)
      ctl_floor = std::max({ctl_floor, m.plan->ctl_fd + 1, m.plan->handoff_end + 1});
  int pidfd = -1;
  clone_args ca{};
  ca.flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_PIDFD;
  ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  ca.exit_signal = SIGCHLD;
  long pid = clone3_raw(&ca);
  if (pid < 0)
    return sys_error("clone3 a PID namespace for the restore");
  if (pid == 0)
    init_main(members, keep, ctl_floor, lifeline.second.get());
  t.init_pid = static_cast<pid_t>(pid);
  t.lifeline = std::move(lifeline.first);
  t.init_pidfd.reset(pidfd);
  return t;
}

} // namespace lmig
