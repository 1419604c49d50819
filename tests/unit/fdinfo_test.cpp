// The kind-specific fdinfo parsers on crafted text (as the kernel prints
// it, and damaged), then on this kernel's own fdinfo of live fds.
#include "engine/base/fd_passing.hpp"
#include "engine/capture/fdinfo.hpp"
#include "engine/capture/file_locks.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "engine/base/unique_fd.hpp"
#include "engine/capture/proc_maps.hpp"

namespace lmig {
namespace {

template <typename T> std::string error_of(const Result<T> &r) {
  return r.ok() ? "<ok>" : r.error().message;
}

std::string fdinfo_of(int fd) {
  auto t = read_proc_file("/proc/self/fdinfo/" + std::to_string(fd));
  return t.ok() ? *t : "";
}

// --- eventfd -------------------------------------------------------------------

TEST(EventfdFdinfo, KernelText) {
  auto r = parse_eventfd_fdinfo("pos:\t0\nflags:\t04002\nmnt_id:\t17\nino:\t1038\n"
                                "eventfd-count:                5\neventfd-id: 1\n"
                                "eventfd-semaphore: 1\n");
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_EQ(r->count, 5u);
  ASSERT_TRUE(r->semaphore.has_value());
  EXPECT_TRUE(*r->semaphore);
}

TEST(EventfdFdinfo, CountIsHexAndSixtyFourBits) {
  auto r = parse_eventfd_fdinfo("eventfd-count: fffffffffffffffe\neventfd-semaphore: 0\n");
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_EQ(r->count, 0xfffffffffffffffeull);
  EXPECT_FALSE(*r->semaphore);
}

TEST(EventfdFdinfo, OlderKernelsDoNotSaySemaphore) {
  auto r = parse_eventfd_fdinfo("pos:\t0\nflags:\t02\neventfd-count:               10\n");
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_EQ(r->count, 16u);
  EXPECT_FALSE(r->semaphore.has_value());
}

TEST(EventfdFdinfo, Malformed) {
  for (const char *t : {"pos:\t0\n", "eventfd-count: xyz\n", "eventfd-count:\n",
                        "eventfd-count: 1\neventfd-semaphore: 2\n",
                        "eventfd-count: 10000000000000000\n"}) {
    auto r = parse_eventfd_fdinfo(t);
    EXPECT_FALSE(r.ok()) << "accepted: " << t;
  }
}

// --- signalfd ------------------------------------------------------------------

TEST(SignalfdFdinfo, Mask) {
  auto r = parse_signalfd_fdinfo("pos:\t0\nflags:\t04002\nsigmask:\t0000000400000800\n");
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_EQ(*r, 0x400000800ull);
  EXPECT_FALSE(parse_signalfd_fdinfo("pos:\t0\n").ok());
  EXPECT_FALSE(parse_signalfd_fdinfo("sigmask:\tzz\n").ok());
}

// --- timerfd -------------------------------------------------------------------

TEST(TimerfdFdinfo, KernelText) {
  auto r = parse_timerfd_fdinfo("pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\nclockid: 0\n"
                                "ticks: 7\nsettime flags: 03\nit_value: (99, 941058531)\n"
                                "it_interval: (0, 100000000)\n");
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_EQ(r->clockid, 0);
  EXPECT_EQ(r->ticks, 7u);
  EXPECT_EQ(r->settime_flags, 3u); // octal in the file
  EXPECT_EQ(r->value_ns, 99941058531ull);
  EXPECT_EQ(r->interval_ns, 100000000ull);
}

TEST(TimerfdFdinfo, Malformed) {
  const std::string ok_lines[] = {"clockid: 1\n", "ticks: 0\n", "settime flags: 00\n",
                                  "it_value: (0, 0)\n", "it_interval: (0, 0)\n"};
  // Each line missing in turn.
  for (size_t skip = 0; skip < 5; skip++) {
    std::string t;
    for (size_t i = 0; i < 5; i++)
      if (i != skip)
        t += ok_lines[i];
    EXPECT_FALSE(parse_timerfd_fdinfo(t).ok()) << t;
  }
  std::string all;
  for (const auto &l : ok_lines)
    all += l;
  ASSERT_TRUE(parse_timerfd_fdinfo(all).ok());
  for (const char *bad : {"it_value: (1, 1000000000)\n", "it_value: 1, 2\n", "it_value: (1 2)\n",
                          "it_value: (x, 2)\n", "settime flags: 08\n", "clockid: one\n",
                          "it_interval: (99999999999999999999, 0)\n"}) {
    auto r = parse_timerfd_fdinfo(all + bad);
    EXPECT_FALSE(r.ok()) << "accepted: " << bad;
  }
}

// --- epoll ---------------------------------------------------------------------

TEST(EpollFdinfo, KernelText) {
  auto r = parse_epoll_fdinfo(
      "pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\n"
      "tfd:        3 events: 80000019 data: 1122334455667788  pos:0 ino:40e sdev:10\n"
      "tfd:       12 events:       19 data:                5  pos:0 ino:3 sdev:d\n");
  ASSERT_TRUE(r.ok()) << error_of(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].tfd, 3);
  EXPECT_EQ((*r)[0].events, 0x80000019u);
  EXPECT_EQ((*r)[0].data, 0x1122334455667788ull);
  EXPECT_EQ((*r)[0].ino, 0x40eu);
  EXPECT_EQ((*r)[0].sdev, 0x10u);
  EXPECT_EQ((*r)[1].tfd, 12);
  EXPECT_EQ((*r)[1].data, 5u);
}

TEST(EpollFdinfo, EmptyInterestList) {
  auto r = parse_epoll_fdinfo("pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\n");
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_TRUE(r->empty());
}

TEST(EpollFdinfo, Malformed) {
  for (const char *t : {"tfd: x events: 19 data: 5\n", "tfd: 3 events: zz data: 5\n",
                        "tfd: 3 data: 5\n", "tfd: 3 events: 19\n", "tfd: -3 events: 19 data: 5\n",
                        "tfd: 3 events: 19 data: 5 ino:qq\n"}) {
    auto r = parse_epoll_fdinfo(t);
    EXPECT_FALSE(r.ok()) << "accepted: " << t;
  }
}

// --- inotify -------------------------------------------------------------------

TEST(InotifyFdinfo, KernelText) {
  auto r = parse_inotify_fdinfo(
      "pos:\t0\nflags:\t04000\nmnt_id:\t17\nino:\t1038\n"
      "inotify wd:2 ino:a720e5 sdev:fe00000 mask:80000002 ignored_mask:0 fhandle-bytes:8 "
      "fhandle-type:1 f_handle:e520a700b786845a\n"
      "inotify wd:1a ino:a720ce sdev:fe00001 mask:300 ignored_mask:0\n");
  ASSERT_TRUE(r.ok()) << error_of(r);
  ASSERT_EQ(r->size(), 2u);
  const auto &a = (*r)[0], &b = (*r)[1];
  EXPECT_EQ(a.wd, 2);
  EXPECT_EQ(a.ino, 0xa720e5u);
  EXPECT_EQ(a.sdev, 0xfe00000u);
  EXPECT_EQ(a.mask, 0x80000002u);
  EXPECT_EQ(a.handle_type, 1);
  EXPECT_EQ(a.handle, (std::vector<uint8_t>{0xe5, 0x20, 0xa7, 0x00, 0xb7, 0x86, 0x84, 0x5a}));
  EXPECT_EQ(b.wd, 0x1a); // hex
  EXPECT_TRUE(b.handle.empty()); // a filesystem that cannot make handles
}

TEST(InotifyFdinfo, Malformed) {
  for (const char *t :
       {"inotify wd:0 ino:1 sdev:1 mask:1\n", "inotify wd:zz ino:1 sdev:1 mask:1\n",
        "inotify ino:1 sdev:1 mask:1\n", "inotify wd:1 sdev:1 mask:1\n",
        "inotify wd:1 ino:1 mask:1\n", "inotify wd:1 ino:1 sdev:1\n",
        "inotify wd:1 ino:1 sdev:1 mask:1 fhandle-bytes:8 fhandle-type:1 f_handle:abcd\n",
        "inotify wd:1 ino:1 sdev:1 mask:1 fhandle-bytes:2 fhandle-type:1 f_handle:zzzz\n",
        "inotify wd:1 ino:1 sdev:1 mask:1 fhandle-bytes:ff fhandle-type:1 f_handle:00\n"}) {
    auto r = parse_inotify_fdinfo(t);
    EXPECT_FALSE(r.ok()) << "accepted: " << t;
  }
}

TEST(KernelDev, MatchesMakedev) {
  EXPECT_EQ(kernel_dev_to_dev(0xfe00000), makedev(254, 0));
  EXPECT_EQ(kernel_dev_to_dev(0x10), makedev(0, 16));
  EXPECT_EQ(kernel_dev_to_dev((259u << 20) | 0x12345), makedev(259, 0x12345));
}

// --- sockets -------------------------------------------------------------------

TEST(SocketFdinfo, ScmFds) {
  auto r = parse_socket_scm_fds("pos:\t0\nflags:\t02\nmnt_id:\t10\nino:\t75933\nscm_fds: 3\n");
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_EQ(r->value_or(99), 3u);
  r = parse_socket_scm_fds("pos:\t0\nflags:\t02\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_FALSE(parse_socket_scm_fds("scm_fds: -1\n").ok());
}

// --- this kernel's own text ------------------------------------------------------

TEST(LiveFdinfo, Eventfd) {
  UniqueFd e(::eventfd(0, EFD_SEMAPHORE | EFD_CLOEXEC));
  uint64_t v = (1ull << 40) + 3;
  ASSERT_EQ(::write(e.get(), &v, 8), 8);
  auto r = parse_eventfd_fdinfo(fdinfo_of(e.get()));
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_EQ(r->count, v);
  ASSERT_TRUE(r->semaphore.has_value()) << "this kernel shows eventfd-semaphore";
  EXPECT_TRUE(*r->semaphore);
}

TEST(LiveFdinfo, Signalfd) {
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR2);
  sigaddset(&m, SIGRTMIN + 1);
  UniqueFd s(::signalfd(-1, &m, SFD_CLOEXEC));
  auto r = parse_signalfd_fdinfo(fdinfo_of(s.get()));
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_EQ(*r, (1ull << (SIGUSR2 - 1)) | (1ull << (SIGRTMIN + 1 - 1)));
}

TEST(LiveFdinfo, Timerfd) {
  UniqueFd t(::timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC));
  itimerspec its{{2, 500}, {30, 0}};
  ASSERT_EQ(::timerfd_settime(t.get(), 0, &its, nullptr), 0);
  auto r = parse_timerfd_fdinfo(fdinfo_of(t.get()));
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_EQ(r->clockid, CLOCK_BOOTTIME);
  EXPECT_EQ(r->ticks, 0u);
  EXPECT_EQ(r->settime_flags, 0u);
  EXPECT_GT(r->value_ns, 29000000000ull);
  EXPECT_LE(r->value_ns, 30000000000ull);
  EXPECT_EQ(r->interval_ns, 2000000500ull);
}

TEST(LiveFdinfo, Epoll) {
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  UniqueFd e(::eventfd(0, EFD_CLOEXEC));
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = 0xfeedfacecafebeefull;
  ASSERT_EQ(::epoll_ctl(ep.get(), EPOLL_CTL_ADD, e.get(), &ev), 0);
  auto r = parse_epoll_fdinfo(fdinfo_of(ep.get()));
  ASSERT_TRUE(r.ok()) << error_of(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].tfd, e.get());
  EXPECT_EQ((*r)[0].events, static_cast<uint32_t>(EPOLLIN | EPOLLET | EPOLLERR | EPOLLHUP));
  EXPECT_EQ((*r)[0].data, 0xfeedfacecafebeefull);
}

TEST(LiveFdinfo, Inotify) {
  char dir[] = "/tmp/lmig-fdinfo-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  UniqueFd in(::inotify_init1(IN_CLOEXEC));
  int wd = ::inotify_add_watch(in.get(), dir, IN_CREATE | IN_ONESHOT);
  ASSERT_GT(wd, 0);
  struct stat st {};
  ASSERT_EQ(::stat(dir, &st), 0);
  auto r = parse_inotify_fdinfo(fdinfo_of(in.get()));
  ::rmdir(dir);
  ASSERT_TRUE(r.ok()) << error_of(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].wd, wd);
  EXPECT_EQ((*r)[0].ino, st.st_ino);
  EXPECT_EQ(kernel_dev_to_dev((*r)[0].sdev), st.st_dev);
  EXPECT_EQ((*r)[0].mask, static_cast<uint32_t>(IN_CREATE | IN_ONESHOT));
}

TEST(LiveFdinfo, UnixSocket) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  auto r = parse_socket_scm_fds(fdinfo_of(a.get()));
  ASSERT_TRUE(r.ok()) << error_of(r);
  ASSERT_TRUE(r->has_value()) << "this kernel shows scm_fds";
  EXPECT_EQ(**r, 0u);
  // One fd in flight.
  ASSERT_EQ(send_with_fd(b.get(), "x", 1, b.get()), 1);
  r = parse_socket_scm_fds(fdinfo_of(a.get()));
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_EQ(r->value_or(0), 1u);
}

} // namespace
} // namespace lmig

namespace lmig {
namespace {

TEST(FileLocks, EveryLockLineOfAnFdinfoIsFoundAndWaitersAreNot) {
  const std::string info = "pos:\t0\nflags:\t0100002\nmnt_id:\t30\nino:\t11035691\n"
                           "lock:\t1: POSIX  ADVISORY  WRITE 17084 fe:00:11035691 100 299\n"
                           "lock:\t1: -> POSIX  ADVISORY  WRITE 17090 fe:00:11035691 150 159\n"
                           "lock:\t2: OFDLCK ADVISORY  READ  -1 fe:00:11035691 0 EOF\n"
                           "lock:\t3: LEASE  ACTIVE    READ  17084 fe:00:11035691 0 EOF\n";
  auto locks = locks_in_fdinfo(info);
  ASSERT_EQ(locks.size(), 3u);
  EXPECT_EQ(locks[0].kind, "POSIX");
  EXPECT_EQ(locks[0].access, "WRITE");
  EXPECT_EQ(locks[0].start, "100");
  EXPECT_EQ(locks[0].end, "299");
  EXPECT_EQ(locks[1].kind, "OFDLCK");
  EXPECT_EQ(locks[1].end, "EOF");
  EXPECT_EQ(locks[2].kind, "LEASE");
  auto st = refuse_held_locks(3, "/srv/db", info);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "fd 3: a POSIX record lock (write, bytes 100 to 299) on /srv/db "
                                "is not supported yet (it would be dropped)");
  EXPECT_TRUE(refuse_held_locks(3, "/srv/db", "pos:\t0\nflags:\t02\n").ok());
}

} // namespace
} // namespace lmig
