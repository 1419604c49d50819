// The restore child's fd makers (engine/restore/fd_create), run here in the
// test process: each file they make must hold what its image says.
#include "engine/restore/fd_create.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/base/unique_fd.hpp"
#include "engine/capture/fdinfo.hpp"
#include "engine/capture/proc_maps.hpp"
#include "tests/unit/scratch_dir.hpp"

namespace lmig {
using test::TempDir;
namespace {

constexpr int kFloor = 200;
constexpr uint64_t kMs = 1000000;

uint64_t now_ns(clockid_t c) {
  timespec ts{};
  ::clock_gettime(c, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string fdinfo(int fd) {
  auto t = read_proc_file("/proc/self/fdinfo/" + std::to_string(fd));
  return t.ok() ? *t : "";
}

UniqueFd made(int r) {
  EXPECT_GE(r, kFloor) << "made below the floor, or failed: " << std::strerror(r < 0 ? -r : 0);
  return UniqueFd(r);
}

uint64_t ns_of(const timespec &t) {
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}


// --- timerfd: the time the move took ------------------------------------------

TEST(MakeTimerfd, CountsThePeriodsTheMoveTook) {
  TimerfdImage t;
  t.clockid = CLOCK_MONOTONIC;
  t.ticks = 2;
  t.value_ns = 100 * kMs;
  t.interval_ns = 500 * kMs;
  t.captured_ns = now_ns(CLOCK_REALTIME) - 1000 * kMs; // captured a second ago
  UniqueFd fd = made(child::make_timerfd(t, kFloor));
  auto info = parse_timerfd_fdinfo(fdinfo(fd.get()));
  ASSERT_TRUE(info.ok());
  // Due 900 ms ago, then 400 ms ago: 2 expirations missed, plus the 2 that
  // were waiting; the next one 100 ms from now, where the period puts it
  // (less whatever this test took to get here).
  EXPECT_EQ(info->ticks, 2u + 2u);
  EXPECT_EQ(info->interval_ns, 500 * kMs);
  EXPECT_LE(info->value_ns, 100 * kMs);
  EXPECT_GT(info->value_ns, 50 * kMs);
}

TEST(MakeTimerfd, OneShotDueDuringTheMoveHasFired) {
  TimerfdImage t;
  t.clockid = CLOCK_BOOTTIME;
  t.value_ns = 100 * kMs;
  t.captured_ns = now_ns(CLOCK_REALTIME) - 500 * kMs;
  UniqueFd fd = made(child::make_timerfd(t, kFloor));
  itimerspec cur{};
  ASSERT_EQ(::timerfd_gettime(fd.get(), &cur), 0);
  EXPECT_EQ(ns_of(cur.it_value), 0u);
  uint64_t n = 0;
  ::fcntl(fd.get(), F_SETFL, O_NONBLOCK);
  ASSERT_EQ(::read(fd.get(), &n, 8), 8);
  EXPECT_EQ(n, 1u);
}

TEST(MakeTimerfd, WhatIsLeftOfTheDeadline) {
  TimerfdImage t;
  t.clockid = CLOCK_MONOTONIC;
  t.value_ns = 10000 * kMs;
  t.captured_ns = now_ns(CLOCK_REALTIME) - 300 * kMs;
  UniqueFd fd = made(child::make_timerfd(t, kFloor));
  itimerspec cur{};
  ASSERT_EQ(::timerfd_gettime(fd.get(), &cur), 0);
  EXPECT_LE(ns_of(cur.it_value), 9700 * kMs);
  EXPECT_GT(ns_of(cur.it_value), 9500 * kMs);
  auto info = parse_timerfd_fdinfo(fdinfo(fd.get()));
  EXPECT_EQ(info->ticks, 0u);
}

TEST(MakeTimerfd, AbsoluteRealTimeKeepsItsDeadlineAndFlags) {
  TimerfdImage t;
  t.clockid = CLOCK_REALTIME;
  t.settime_flags = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;
  t.captured_ns = now_ns(CLOCK_REALTIME) - 2000 * kMs;
  t.value_ns = 3600000 * kMs; // an hour after the capture
  const uint64_t deadline = t.captured_ns + t.value_ns;
  UniqueFd fd = made(child::make_timerfd(t, kFloor));
  auto info = parse_timerfd_fdinfo(fdinfo(fd.get()));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->settime_flags, 3u);
  itimerspec cur{};
  ASSERT_EQ(::timerfd_gettime(fd.get(), &cur), 0);
  int64_t off = static_cast<int64_t>(now_ns(CLOCK_REALTIME) + ns_of(cur.it_value) - deadline);
  EXPECT_LT(std::llabs(off), static_cast<int64_t>(50 * kMs));
}

TEST(MakeTimerfd, DisarmedWithTicksWaiting) {
  TimerfdImage t;
  t.clockid = CLOCK_MONOTONIC;
  t.ticks = 4;
  t.captured_ns = now_ns(CLOCK_REALTIME);
  UniqueFd fd = made(child::make_timerfd(t, kFloor));
  uint64_t n = 0;
  ASSERT_EQ(::read(fd.get(), &n, 8), 8);
  EXPECT_EQ(n, 4u);
}

// --- eventfd, signalfd, epoll ---------------------------------------------------

TEST(MakeEventfd, CountBeyondThirtyTwoBits) {
  EventfdImage e{0, (1ull << 40) + 9, true};
  UniqueFd fd = made(child::make_eventfd(e, kFloor));
  auto info = parse_eventfd_fdinfo(fdinfo(fd.get()));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->count, (1ull << 40) + 9);
  EXPECT_TRUE(info->semaphore.value_or(false));
  EXPECT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(MakeSignalfd, Mask) {
  SignalfdImage s{0, (1ull << (SIGUSR1 - 1)) | (1ull << 40)};
  UniqueFd fd = made(child::make_signalfd(s, kFloor));
  auto mask = parse_signalfd_fdinfo(fdinfo(fd.get()));
  ASSERT_TRUE(mask.ok());
  EXPECT_EQ(*mask, s.mask);
}

uint32_t listed_events(int ep, int tfd) {
  auto list = parse_epoll_fdinfo(fdinfo(ep));
  if (list.ok())
    for (const auto &t : *list)
      if (t.tfd == tfd)
        return t.events;
  return 0xffffffffu;
}

TEST(AddEpollWatches, FiredOneShotsStayDisabled) {
  UniqueFd ep = made(child::make_epoll(kFloor));
  UniqueFd writable(::eventfd(0, EFD_CLOEXEC)); // ready for writing
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGWINCH);
  UniqueFd never(::signalfd(-1, &m, SFD_CLOEXEC)); // ready for nothing
  UniqueFd level(::eventfd(1, EFD_CLOEXEC));
  EpollImage e;
  e.watches = {{writable.get(), EPOLLONESHOT, 1},
               {never.get(), EPOLLONESHOT | EPOLLET, 2},
               {level.get(), EPOLLIN | EPOLLERR | EPOLLHUP, 3}};
  ASSERT_EQ(child::add_epoll_watches(ep.get(), e), 0);
  EXPECT_EQ(listed_events(ep.get(), writable.get()), static_cast<uint32_t>(EPOLLONESHOT));
  // Ready for nothing: armed for what every entry is armed for.
  EXPECT_EQ(listed_events(ep.get(), never.get()),
            static_cast<uint32_t>(EPOLLONESHOT | EPOLLET | EPOLLERR | EPOLLHUP));
  EXPECT_EQ(listed_events(ep.get(), level.get()),
            static_cast<uint32_t>(EPOLLIN | EPOLLERR | EPOLLHUP));
  epoll_event got[4];
  int n = ::epoll_wait(ep.get(), got, 4, 0);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(got[0].data.u64, 3u);
}

// --- inotify ----------------------------------------------------------------------

TEST(MakeInotify, WatchDescriptorsWithGaps) {
  TempDir dir;
  std::string a = dir.file("a"), b = dir.file("b");
  ASSERT_EQ(::mkdir(a.c_str(), 0755), 0);
  UniqueFd(::open(b.c_str(), O_CREAT | O_WRONLY, 0644));
  InotifyImage in;
  in.watches = {{2, IN_CREATE | IN_DELETE, a}, {7, IN_MODIFY | IN_ONESHOT, b}};
  UniqueFd fd = made(child::make_inotify(in, kFloor));
  auto w = parse_inotify_fdinfo(fdinfo(fd.get()));
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->size(), 2u);
  std::sort(w->begin(), w->end(), [](auto &x, auto &y) { return x.wd < y.wd; });
  EXPECT_EQ((*w)[0].wd, 2);
  EXPECT_EQ((*w)[0].mask, static_cast<uint32_t>(IN_CREATE | IN_DELETE));
  EXPECT_EQ((*w)[1].wd, 7);
  EXPECT_EQ((*w)[1].mask, static_cast<uint32_t>(IN_MODIFY | IN_ONESHOT));
  int queued = -1;
  ASSERT_EQ(::ioctl(fd.get(), FIONREAD, &queued), 0);
  EXPECT_EQ(queued, 0) << "the removals' IN_IGNORED events were read away";
  // And it works: an event on the file comes with its wd.
  {
    UniqueFd f(::open(b.c_str(), O_WRONLY | O_APPEND));
    ASSERT_EQ(::write(f.get(), "x", 1), 1);
  }
  alignas(inotify_event) char buf[256];
  ASSERT_GT(::read(fd.get(), buf, sizeof buf), 0);
  EXPECT_EQ(reinterpret_cast<inotify_event *>(buf)->wd, 7);
}

TEST(MakeInotify, OneInodeUnderTwoWatchesFails) {
  TempDir dir;
  std::string a = dir.file("a"), b = dir.file("b");
  UniqueFd(::open(a.c_str(), O_CREAT | O_WRONLY, 0644));
  ASSERT_EQ(::link(a.c_str(), b.c_str()), 0);
  InotifyImage in;
  in.watches = {{1, IN_MODIFY, a}, {2, IN_MODIFY, b}};
  EXPECT_EQ(child::make_inotify(in, kFloor), -EEXIST);
}

// --- unix socket pairs -------------------------------------------------------------

std::vector<uint8_t> bytes(const char *s) { return {s, s + std::strlen(s)}; }

TEST(MakeSocketPair, QueuesOptionsAndShutdown) {
  UnixSocketImage a, b;
  a.file_id = 1;
  a.peer_file_id = 2;
  a.type = SOCK_SEQPACKET;
  a.sndbuf = 131072;
  a.rcvbuf = 262144;
  a.queue = {bytes("first"), {}, std::vector<uint8_t>(100000, 7)};
  b = a;
  b.file_id = 2;
  b.peer_file_id = 1;
  b.queue = {bytes("reply")};
  b.peek_off = 3;
  b.shutdown = 2; // b stopped sending (after its reply)
  SocketPairPlan p{SOCK_SEQPACKET, {&a, &b}, {-1, -1}, 0};
  ASSERT_EQ(child::make_socket_pair(p, kFloor), 0);
  UniqueFd x(p.fds[0]), y(p.fds[1]);
  EXPECT_GE(x.get(), kFloor);
  int v = 0;
  socklen_t len = sizeof v;
  ::getsockopt(x.get(), SOL_SOCKET, SO_SNDBUF, &v, &len);
  EXPECT_EQ(v, 131072);
  ::getsockopt(x.get(), SOL_SOCKET, SO_RCVBUF, &v, &len);
  EXPECT_EQ(v, 262144);
  ::getsockopt(y.get(), SOL_SOCKET, SO_PEEK_OFF, &v, &len);
  EXPECT_EQ(v, 3);
  static char buf[200000];
  for (const auto &m : a.queue) {
    ssize_t n = ::recv(x.get(), buf, sizeof buf, MSG_DONTWAIT);
    ASSERT_EQ(n, static_cast<ssize_t>(m.size()));
    EXPECT_TRUE(m.empty() || std::memcmp(buf, m.data(), m.size()) == 0);
  }
  EXPECT_EQ(::recv(x.get(), buf, sizeof buf, MSG_DONTWAIT), 0) << "then the peer's shutdown";
  int off = -1;
  ::setsockopt(y.get(), SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off);
  ASSERT_EQ(::recv(y.get(), buf, sizeof buf, MSG_DONTWAIT), 5);
  EXPECT_EQ(std::string(buf, 5), "reply");
  EXPECT_EQ(::send(y.get(), "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EPIPE);
}

TEST(MakeSocketPair, StreamBytesInOrder) {
  UnixSocketImage a, b;
  a.file_id = 1;
  a.peer_file_id = 2;
  a.type = SOCK_STREAM;
  a.sndbuf = a.rcvbuf = 212992;
  std::vector<uint8_t> big(3 << 20); // more than any default buffer holds
  for (size_t i = 0; i < big.size(); i++)
    big[i] = static_cast<uint8_t>(i * 13);
  a.queue = {bytes("head:"), big};
  b = a;
  b.file_id = 2;
  b.peer_file_id = 1;
  b.queue = {};
  SocketPairPlan p{SOCK_STREAM, {&a, &b}, {-1, -1}, 0};
  ASSERT_EQ(child::make_socket_pair(p, kFloor), 0);
  UniqueFd x(p.fds[0]), y(p.fds[1]);
  std::vector<uint8_t> got;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(x.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0)
      break;
    got.insert(got.end(), buf, buf + n);
  }
  std::vector<uint8_t> want = bytes("head:");
  want.insert(want.end(), big.begin(), big.end());
  EXPECT_TRUE(got == want) << got.size() << " bytes";
}

// --- memfds and deleted files ------------------------------------------------------

TEST(MakeContents, SealedSparseMemfd) {
  ContentsImage c;
  c.name = "restored";
  c.size = 4 << 20;
  c.mode = 0600;
  c.seals = F_SEAL_SHRINK | F_SEAL_WRITE;
  c.extents = {{1 << 20, bytes("middle")}};
  ContentsPlan p{&c, true, {}, false, "restored", -1, 0};
  ASSERT_EQ(child::make_contents(p, kFloor), 0);
  UniqueFd fd(p.fd);
  struct stat st {};
  ASSERT_EQ(::fstat(fd.get(), &st), 0);
  EXPECT_EQ(st.st_size, 4 << 20);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(::fcntl(fd.get(), F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_WRITE);
  char buf[6];
  ASSERT_EQ(::pread(fd.get(), buf, 6, 1 << 20), 6);
  EXPECT_EQ(std::string(buf, 6), "middle");
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_DATA), 1 << 20) << "the hole before it stays a hole";
  char link[64];
  ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd.get())).c_str(), link, sizeof link);
  EXPECT_EQ(std::string(link, static_cast<size_t>(n)), "/memfd:restored (deleted)");
  // Reopened with other flags, it is the same memory.
  UniqueFd ro = made(child::reopen(fd.get(), O_RDONLY, kFloor));
  ASSERT_EQ(::pread(ro.get(), buf, 6, 1 << 20), 6);
  EXPECT_EQ(::fcntl(ro.get(), F_GETFL) & O_ACCMODE, O_RDONLY);
}

TEST(MakeContents, DeletedFileInItsDirectory) {
  TempDir dir;
  ContentsImage c;
  c.size = 10;
  c.mode = 0640;
  c.extents = {{0, bytes("0123456789")}};
  for (bool linkable : {false, true}) {
    ContentsPlan p{&c, false, dir.path(), linkable, "", -1, 0};
    ASSERT_EQ(child::make_contents(p, kFloor), 0);
    UniqueFd fd(p.fd);
    struct stat st {}, dst {};
    ASSERT_EQ(::fstat(fd.get(), &st), 0);
    ASSERT_EQ(::stat(dir.path().c_str(), &dst), 0);
    EXPECT_EQ(st.st_nlink, 0u);
    EXPECT_EQ(st.st_dev, dst.st_dev) << "on the filesystem it lived on";
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    std::string name = dir.file(linkable ? "linked" : "never");
    int r = ::linkat(fd.get(), "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH);
    EXPECT_EQ(r == 0, linkable) << "linkable only if it was";
  }
}

// --- FIFOs ---------------------------------------------------------------------------

TEST(HoldFifo, PutsTheBytesBackAndOpensTheEnds) {
  TempDir dir;
  std::string path = dir.file("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  std::vector<uint8_t> data = bytes("buffered");
  PipePlan p{1 << 16, &data, {-1, -1}, path, true, 0};
  ASSERT_EQ(child::hold_fifo(p, kFloor), 0);
  UniqueFd holder(p.fds[0]);
  // A write end opens (there is a reader: the holder), and keeps its flags.
  UniqueFd w = made(child::open_fifo(path.c_str(), O_WRONLY, kFloor));
  EXPECT_EQ(::fcntl(w.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY);
  UniqueFd r = made(child::open_fifo(path.c_str(), O_RDONLY | O_NONBLOCK, kFloor));
  holder.reset();
  char buf[16];
  ASSERT_EQ(::read(r.get(), buf, sizeof buf), 8);
  EXPECT_EQ(std::string(buf, 8), "buffered");
}

} // namespace
} // namespace lmig
