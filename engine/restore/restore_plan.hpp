// Everything the target needs to rebuild a process, worked out before any
// process is created: preflight checks against this host (files present and
// unchanged, kernel layout compatible), the restorer's region and argument
// block, and the fd table to open. The restore child only executes it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

struct AddressRange {
  uint64_t start, end;
};

struct FdTarget {
  int fd;
  bool cloexec;
};

inline constexpr size_t kNoFile = ~size_t{0};

// One open file description to create, and the fd numbers it goes to.
struct FilePlan {
  FileKind kind;
  std::string path;  // regular/dir/char device/fifo
  uint32_t flags;    // open flags; F_SETFL ones for files made another way
  uint64_t pos;
  int pipe_index;    // pipe, fifo: its PipePlan
  bool write_end;
  std::vector<FdTarget> targets;
  int contents_index = -1; // deleted, memfd: its ContentsPlan
  int socket_index = -1;   // unix_socket: its SocketPairPlan
  int socket_end = 0;      //   and which end of it
  // The kind's record in the image (the one that applies, others null).
  const EventfdImage *eventfd = nullptr;
  const SignalfdImage *signalfd = nullptr;
  const TimerfdImage *timerfd = nullptr;
  const EpollImage *epoll = nullptr;
  const InotifyImage *inotify = nullptr;
  int slot = -1; // shared with the tree: inherited at handoff_base + slot
};

// An anonymous pipe, or the buffer of a FIFO (fifo_path set).
struct PipePlan {
  uint32_t capacity;
  const std::vector<uint8_t> *data; // points into the image
  int fds[2];                       // filled in by the restore child
  std::string fifo_path;            // FIFO: fds[0] holds it open while its ends are opened
  bool inject = true;               // FIFO: false when its bytes are already there
  size_t first_file = kNoFile;      // a FilePlan using it (for errors)
};

// A memfd or deleted file: the inode made once, then opened by each file.
struct ContentsPlan {
  const ContentsImage *image;
  bool memfd;         // memfd_create; else O_TMPFILE in tmpfile_dir
  std::string tmpfile_dir;
  bool linkable;      // O_TMPFILE without O_EXCL: linkat may name it again
  std::string name;   // memfd_create's name
  int fd = -1;        // filled in by the restore child
  size_t first_file = kNoFile;
  bool anon_shmem = false; // shared anonymous memory: made by mmap, not memfd_create
  bool mapped = false;     // a VMA maps it: its fd stays open for the restorer...
  bool mapped_rw = false;  // ...read-write (a VMA with VM_MAYWRITE maps it)
  bool mapped_ro = false;  // ...and/or read-only (one without: a read-only open too)
  int ro_fd = -1;          // that open, filled in by the restore child
  int slot = -1;           // made by the tree's root: inherited at handoff_base + slot
};

// Where the restore child writes the fd of a mapped shmem inode into the
// args block (lmig_rst_vma.map_fd), once it has made it.
struct MapFdPatch {
  uint32_t args_off;
  int contents_index;
  bool read_only; // the read-only open (a mapping that could never be made writable)
};

// A pair of connected unix sockets; ends[i] says what waits at fds[i].
struct SocketPairPlan {
  uint32_t type;
  const UnixSocketImage *ends[2];
  int fds[2] = {-1, -1}; // filled in by the restore child
  size_t first_file = kNoFile;
};

// A POSIX timer to make again with its id. Deadlines are absolute on its
// own clock (0: disarmed), worked out on this host when the plan is made.
struct PosixTimerPlan {
  int32_t id, clockid, notify, signo, tid;
  uint64_t sigval;
  uint64_t deadline_ns;
  uint64_t interval_ns;
  // Overruns of its last signal, made again by letting it fire that many
  // times behind its first expiry and taking the signal (periodic, armed).
  int32_t overrun_last;
  bool armed_by_restorer; // its signal was queued: the restorer arms it to queue it again
  // It signals a thread other than the main one: made by the restorer once
  // that thread exists (lmig_rst_timer), not by the restore child.
  bool on_thread = false;
};

struct TimersPlan {
  uint64_t captured_ns = 0; // CLOCK_REALTIME when the itimers were read
  std::array<ItimerImage, 3> itimers{};
  std::vector<PosixTimerPlan> posix;
};

struct RestorePlan {
  pid_t vpid = 0;
  bool postcopy = false;
  std::vector<uint8_t> args;   // lmig_rst_args block, copied into the region
  uint64_t region_start = 0;
  uint64_t region_len = 0;
  uint64_t blob_len = 0;       // bytes reserved for the blob in the region
  uint64_t args_addr = 0;
  uint64_t stack_top = 0;
  uint64_t entry = 0;          // absolute address of restorer_entry
  uint64_t self_unmap = 0;     // absolute address of the unmapping syscall
  // The saved SIGTRAP action (in the region's copy of the args), put back
  // after the restorer's traps; 0 when it is the default.
  uint64_t sigtrap_action = 0;
  int ctl_fd = 0;              // the control socket's number in the process
  // The tree's shared files wait at [handoff_base, handoff_end) until each
  // process has taken its own (above every fd and ctl_fd of any member).
  int handoff_base = 0, handoff_end = 0;
  size_t threads = 1;          // the leader creates threads - 1 others before running
  std::vector<FilePlan> files;
  std::vector<PipePlan> pipes;
  std::vector<ContentsPlan> contents;
  std::vector<SocketPairPlan> socket_pairs;
  std::string cwd;
  bool cwd_deleted = false;    // make cwd, enter it, remove it
  std::string comm;            // thread name (PR_SET_NAME)
  uint32_t umask = 0;
  bool setsid = false;         // the process led its session and group
  bool no_new_privs = false;
  bool child_subreaper = false;
  bool test_fail_spawn = false; // test-only: the restore child fails once its children exist
  std::vector<PageRun> eager;  // pages written directly (not through userfaultfd)
  std::vector<AddressRange> uffd_ranges; // registered with userfaultfd, sorted
  std::vector<size_t> vma_index; // restorer VMA i is image VMA vma_index[i] (for errors)
  TimersPlan timers;
  std::vector<MapFdPatch> map_fds;
  // Post-copy: MADV_HUGEPAGE ranges (2 MiB aligned) to collapse into huge
  // pages once every page is in (userfaultfd installs small pages).
  std::vector<AddressRange> huge_ranges;
  // Set from outside once every thread exists, before it runs: scheduling
  // per thread (by its TID as the process sees it), oom_score_adj.
  struct ThreadSched {
    int32_t tid;
    uint32_t policy, priority;
    int32_t nice;
  };
  std::vector<ThreadSched> sched;
  int32_t oom_score_adj = 0;
  // Signal-driven I/O of an open file, set through one of its fds: its
  // owner (type and ID as the process sees it; 0: none) and signal.
  struct FdOwner {
    int fd;
    uint32_t owner_type;
    int32_t owner;
    int32_t signal;
  };
  std::vector<FdOwner> fd_owners;
  // The cgroups the process joins before its restorer runs (none: it stays
  // in lmigd's); made first when missing if cgroup_create.
  std::vector<std::string> cgroup_dirs;
  bool cgroup_create = false;
};

// Anonymous memory with pages is registered with userfaultfd and installed
// through it (uffd_features: what to ask for; post-copy wants the layout
// events). Without userfaultfd (uffd_available false) everything is written
// directly, which post-copy cannot do.
Result<RestorePlan> plan_restore(const ProcessImage &image, bool postcopy, bool uffd_available,
                                 uint64_t uffd_features);

} // namespace lmig
