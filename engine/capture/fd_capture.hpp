// Reads a process's file descriptor table: what each fd is, its flags and
// offset, which fds share one open file, and what each open file holds
// (pipe buffers, memfd and deleted-file contents, eventfd counters, epoll
// interest lists, signalfd masks, timers, inotify watches, unix socket
// queues). Refuses by name (e.g. "fd 4: TCP socket is not supported yet")
// what cannot move yet.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

struct FdTable {
  std::vector<FileImage> files;
  std::vector<FdImage> fds;
  std::vector<PipeImage> pipes;
  std::vector<ContentsImage> contents;
  std::vector<EventfdImage> eventfds;
  std::vector<EpollImage> epolls;
  std::vector<SignalfdImage> signalfds;
  std::vector<TimerfdImage> timerfds;
  std::vector<InotifyImage> inotifies;
  std::vector<UnixSocketImage> unix_sockets;
  // Which contents each memfd / deleted inode became, by (st_dev, st_ino):
  // a mapping of the same inode names the same contents (shmem_capture).
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> contents_by_inode;

  void move_into(ProcessImage &image) &&;
};

// With read_data, the bytes files hold (pipe buffers, socket queues, memfd
// and deleted-file contents) are copied without consuming them, and timers
// are read as they stand: only meaningful while the process is frozen.
// Without it (the dry run) nothing is read that could change under us.
// shared_slots: fds (of this process) whose open file the tree's root makes
// and this process inherits (see FileImage::shared_slot).
Result<FdTable> capture_fds(pid_t pid, bool read_data,
                            const std::map<int, int32_t> *shared_slots = nullptr);

// The dry run's form, for a list of every blocker: each fd that cannot
// move adds its error to `blockers` and is left out, instead of the first
// ending the run. An error about no one fd ends it too (added).
void check_fds(pid_t pid, const std::map<int, int32_t> *shared_slots,
               std::vector<Error> &blockers);

// An fd as /proc shows it: where it points, its inode, its fdinfo text.
struct ProcFd {
  pid_t pid;
  int fd;
  std::string link;
  struct stat st;
  std::string fdinfo;
};
// Reads /proc/PID/fd/N, its inode and /proc/PID/fdinfo/N; nullopt when the
// fd was closed meanwhile (the process is not frozen yet).
Result<std::optional<ProcFd>> read_proc_fd(pid_t pid, int fd);

// Whether two fds (of one process or two) are one open file description.
bool same_open_file(pid_t pa, int a, pid_t pb, int b);

// An fd of some process, and the number the captured table gives it.
struct FdRef {
  pid_t pid;
  int fd;
  int number;
};
// A shared memory inode (shmem: MAP_SHARED anonymous or a memfd) that
// several processes of a tree reach, and one mapping of it to read it
// through.
struct SharedMapping {
  pid_t pid;
  uint64_t start, end;
  int32_t slot;   // the number the captured table gives an fd of it
  bool anon;      // shared anonymous memory (else a memfd)
  uint64_t dev, ino;
};

// The open files the processes of a tree share, captured as one table
// (fds from several processes; pipes and socket pairs may span them), and
// the shared memory they map, each as a read-write open of its inode.
Result<FdTable> capture_fd_set(const std::vector<FdRef> &refs,
                               const std::vector<SharedMapping> &mappings, bool read_data);

} // namespace lmig
