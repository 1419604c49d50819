// Makes the open files of a restore that no path leads to (pipes, FIFO
// buffers, memfds and deleted files, socket pairs, eventfd, signalfd,
// timerfd, epoll, inotify) and gives them their state. Runs in the restore
// child, after clone in a multi-threaded lmigd: system calls and the plan
// only, never an allocation. Every fd made is first lifted to `floor` or
// above, clear of the numbers the process will use. Errors are -errno.
#pragma once

#include <cstdint>

#include "engine/restore/restore_plan.hpp"

namespace lmig::child {

// Moves fd to the lowest free number >= floor (close-on-exec); -errno.
int lift(int fd, int floor);

int make_pipe(PipePlan &p, int floor);        // anonymous: fills p.fds with its ends
int hold_fifo(PipePlan &p, int floor);        // FIFO: p.fds[0] holds it open, bytes put back
int make_contents(ContentsPlan &c, int floor); // the inode, filled: c.fd
int make_socket_pair(SocketPairPlan &s, int floor);

// A new open of the file at fd (through /proc/self/fd) with these flags.
int reopen(int fd, uint32_t flags, int floor);
// Opens a FIFO end without waiting for a peer (the holder is one).
int open_fifo(const char *path, uint32_t flags, int floor);

int make_eventfd(const EventfdImage &e, int floor);
int make_signalfd(const SignalfdImage &s, int floor);
int make_timerfd(const TimerfdImage &t, int floor);
int make_epoll(int floor); // watches are added once every fd is in place
int add_epoll_watches(int epfd, const EpollImage &e);
int make_inotify(const InotifyImage &n, int floor);

} // namespace lmig::child
