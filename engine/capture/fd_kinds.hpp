// Per-kind capture of what an open file holds beyond its flags and offset:
// the state of an eventfd, signalfd, timerfd, epoll or inotify instance,
// the bytes of a memfd, deleted file or pipe buffer, the queues of a unix
// socket. Each reads /proc and, where /proc does not tell, a duplicate of
// the fd (FdBorrower); none changes what the process sees. Errors name the
// fd; what cannot move is refused with "... is not supported yet".
// Called by capture_fds (fd_capture.cpp), which classifies the fds.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/capture/fd_borrow.hpp"
#include "engine/image/image.hpp"

namespace lmig {

// "fd 4: WHAT is not supported yet"
Error unsupported_fd(int fd, const std::string &what);

// --- fd_anon_inode.cpp ---
Result<EventfdImage> capture_eventfd(int fd, std::string_view fdinfo);
Result<SignalfdImage> capture_signalfd(int fd, std::string_view fdinfo);
// settle (the process is frozen): first let the kernel account the periods
// of a periodic timer that expired unread, as a read would, so that fdinfo
// shows the time to the next expiration (it shows 0 until then).
Result<TimerfdImage> capture_timerfd(FdBorrower &borrower, int fd, std::string_view fdinfo,
                                     bool settle);

// --- fd_epoll.cpp ---
// open_fds: every fd of the process. Each watched file must still be the
// one open at the fd number it was added with.
Result<EpollImage> capture_epoll(pid_t pid, int fd, std::string_view fdinfo,
                                 const std::set<int> &open_fds);

// --- fd_inotify.cpp ---
// search_dirs: where to look for a watched inode whose file handle does not
// lead to a path (the process's cwd, the directories of its open files).
Result<InotifyImage> capture_inotify(FdBorrower &borrower, int fd, std::string_view fdinfo,
                                     const std::vector<std::string> &search_dirs);

// --- fd_contents.cpp ---
// The inode behind a memfd or a deleted file (link: /proc/PID/fd/N's
// target). Without read_data only its metadata and size are checked.
Result<ContentsImage> capture_contents(pid_t pid, int fd, FileKind kind, const std::string &link,
                                       bool read_data);
// The same for a shmem or deleted inode reached through any /proc path (an
// fd, a /proc/PID/map_files entry). who: what errors start with ("fd 4");
// label: what it is called in them ("memfd x"); name: a memfd's name.
Result<ContentsImage> capture_contents_at(const std::string &proc_path, const std::string &who,
                                          bool memfd, const std::string &label,
                                          const std::string &name, bool read_data,
                                          bool must_be_unlinked);

// --- fd_pipe.cpp ---
// The bytes buffered in a pipe or FIFO, copied with tee() from `reader`,
// an fd that can read it, without consuming them.
Result<PipeImage> read_pipe_buffer(int reader, const std::string &what);

// --- fd_unix_socket.cpp ---
struct UnixSocketFacts {
  uint32_t type = 0;
  uint64_t peer_ino = 0;
  uint32_t shutdown = 0;
};
// Refuses what cannot move (a listening, bound, unconnected socket, one in
// another network namespace, one with fds in flight); names its peer.
Result<UnixSocketFacts> describe_unix_socket(pid_t pid, int fd, uint64_t ino,
                                             std::string_view fdinfo);
// Options and, with read_data, the receive queue (peeked, not consumed).
Result<UnixSocketImage> capture_unix_socket(FdBorrower &borrower, int fd,
                                            const UnixSocketFacts &facts, bool read_data);

} // namespace lmig
