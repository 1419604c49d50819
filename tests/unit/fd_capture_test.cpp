// capture_fds on live children: what each kind of fd holds is read exactly,
// reading it changes nothing the child can see (a second capture finds the
// same), and what cannot move is refused by name.
#include "engine/base/fd_passing.hpp"
#include "engine/capture/fd_capture.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "engine/base/unique_fd.hpp"
#include "tests/unit/child_process.hpp"
#include "tests/unit/scratch_dir.hpp"

namespace lmig {
using test::TempDir;
namespace {

using testing::Child;

template <typename T> std::string error_of(const Result<T> &r) {
  return r.ok() ? "<ok>" : r.error().message;
}


// Runs setup(fds) in a child (async-signal-safe calls only), which reports
// its fd numbers and then waits to be killed. The child keeps only what
// setup made (in fds.n) and /dev/null as stdio: nothing it inherited from
// the test (the report pipe, stdio pipes of the test runner) gets in the way.
struct Fds {
  int n[16];
};
template <typename Setup> Child child_with(Setup setup, Fds &fds) {
  Child c = Child::spawn([setup](int report, int) {
    int null_fd = ::open("/dev/null", O_RDWR);
    for (int i = 0; i < 3; i++)
      ::dup2(null_fd, i);
    Fds f{};
    std::fill(std::begin(f.n), std::end(f.n), -1);
    setup(f);
    if (::write(report, &f, sizeof f) != sizeof f)
      ::_exit(3);
    for (int fd = 3; fd < 1024; fd++)
      if (std::find(std::begin(f.n), std::end(f.n), fd) == std::end(f.n))
        ::close(fd);
    for (;;)
      ::pause();
  });
  if (!c.read_report(fds) || !testing::wait_blocked_in(c.pid(), SYS_pause))
    ADD_FAILURE() << "the child did not set up";
  return c;
}

const FileImage *file_at(const FdTable &t, int fd) {
  for (const auto &f : t.fds)
    if (f.fd == fd)
      for (const auto &file : t.files)
        if (file.id == f.file_id)
          return &file;
  return nullptr;
}

template <typename T> const T *record(const std::vector<T> &table, const FileImage *f) {
  for (const auto &r : table)
    if (f && r.file_id == f->id)
      return &r;
  return nullptr;
}

std::vector<uint8_t> bytes(const char *s) { return {s, s + std::strlen(s)}; }

// --- what each kind holds ------------------------------------------------------

TEST(FdCapture, EventfdSignalfdTimerfd) {
  Fds fds;
  Child c = child_with(
      [](Fds &f) {
        f.n[0] = ::eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK);
        uint64_t v = (1ull << 33) + 1;
        if (::write(f.n[0], &v, 8) != 8)
          ::_exit(4);
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGUSR2);
        f.n[1] = ::signalfd(-1, &m, SFD_CLOEXEC);
        f.n[2] = ::timerfd_create(CLOCK_MONOTONIC, 0);
        itimerspec its{{0, 2000000}, {0, 2000000}}; // every 2 ms
        ::timerfd_settime(f.n[2], 0, &its, nullptr);
        f.n[3] = ::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
        itimerspec far{{0, 0}, {4000000000, 0}};
        ::timerfd_settime(f.n[3], TFD_TIMER_ABSTIME, &far, nullptr);
      },
      fds);
  ::usleep(20000); // several periods expire unread
  auto t = capture_fds(c.pid(), true);
  ASSERT_TRUE(t.ok()) << error_of(t);

  const FileImage *ev = file_at(*t, fds.n[0]);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->kind, FileKind::eventfd);
  EXPECT_EQ(ev->flags & O_NONBLOCK, static_cast<uint32_t>(O_NONBLOCK));
  auto *e = record(t->eventfds, ev);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->count, (1ull << 33) + 1);
  EXPECT_TRUE(e->semaphore);

  auto *s = record(t->signalfds, file_at(*t, fds.n[1]));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->mask, 1ull << (SIGUSR2 - 1));
  auto cloexec = std::find_if(t->fds.begin(), t->fds.end(),
                              [&](const FdImage &f) { return f.fd == fds.n[1]; });
  EXPECT_TRUE(cloexec->cloexec);

  // The periodic timer: its overdue periods are counted and the time to
  // its next expiration is known (fdinfo alone shows 0 and one tick).
  auto *tp = record(t->timerfds, file_at(*t, fds.n[2]));
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->clockid, CLOCK_MONOTONIC);
  EXPECT_GE(tp->ticks, 5u);
  EXPECT_GT(tp->value_ns, 0u);
  EXPECT_LE(tp->value_ns, 2000000u);
  EXPECT_EQ(tp->interval_ns, 2000000u);
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  uint64_t now_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec;
  EXPECT_LE(tp->captured_ns, now_ns);
  EXPECT_GT(tp->captured_ns, now_ns - 5000000000ull);

  auto *tr = record(t->timerfds, file_at(*t, fds.n[3]));
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->clockid, CLOCK_REALTIME);
  EXPECT_EQ(tr->settime_flags, static_cast<uint32_t>(TFD_TIMER_ABSTIME));
  // 4e9 s since the epoch, measured from the capture's own clock reading.
  EXPECT_NEAR(static_cast<double>(tr->captured_ns + tr->value_ns), 4e18, 1e7);
}

TEST(FdCapture, EpollInterestList) {
  Fds fds;
  Child c = child_with(
      [](Fds &f) {
        f.n[0] = ::epoll_create1(0);
        f.n[1] = ::eventfd(1, 0);
        f.n[2] = ::dup(f.n[1]);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLONESHOT;
        ev.data.u64 = 41;
        ::epoll_ctl(f.n[0], EPOLL_CTL_ADD, f.n[1], &ev);
        ev.events = EPOLLOUT;
        ev.data.u64 = 42;
        ::epoll_ctl(f.n[0], EPOLL_CTL_ADD, f.n[2], &ev);
        epoll_event got[4];
        ::epoll_wait(f.n[0], got, 4, 0); // fires the one-shot
      },
      fds);
  auto t = capture_fds(c.pid(), true);
  ASSERT_TRUE(t.ok()) << error_of(t);
  auto *e = record(t->epolls, file_at(*t, fds.n[0]));
  ASSERT_TRUE(e);
  ASSERT_EQ(e->watches.size(), 2u);
  std::vector<EpollWatchImage> w = e->watches;
  std::sort(w.begin(), w.end(), [](auto &a, auto &b) { return a.data < b.data; });
  EXPECT_EQ(w[0].fd, fds.n[1]);
  EXPECT_EQ(w[0].events, static_cast<uint32_t>(EPOLLONESHOT)); // fired: disabled
  EXPECT_EQ(w[1].fd, fds.n[2]);
  EXPECT_EQ(w[1].events, static_cast<uint32_t>(EPOLLOUT | EPOLLERR | EPOLLHUP));
}

TEST(FdCapture, InotifyWatchesByPath) {
  TempDir dir;
  std::string sub = dir.file("sub"), file = dir.file("sub/file");
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  UniqueFd(::open(file.c_str(), O_CREAT | O_WRONLY, 0644));
  Fds fds;
  Child c = child_with(
      [sub, file](Fds &f) {
        f.n[0] = ::inotify_init1(IN_NONBLOCK);
        ::inotify_add_watch(f.n[0], sub.c_str(), IN_CREATE);
        ::inotify_add_watch(f.n[0], file.c_str(), IN_MODIFY | IN_ONESHOT);
      },
      fds);
  auto t = capture_fds(c.pid(), true);
  ASSERT_TRUE(t.ok()) << error_of(t);
  auto *in = record(t->inotifies, file_at(*t, fds.n[0]));
  ASSERT_TRUE(in);
  ASSERT_EQ(in->watches.size(), 2u);
  EXPECT_EQ(in->watches[0].wd, 1);
  EXPECT_EQ(in->watches[0].path, sub);
  EXPECT_EQ(in->watches[0].mask, static_cast<uint32_t>(IN_CREATE));
  EXPECT_EQ(in->watches[1].wd, 2);
  EXPECT_EQ(in->watches[1].path, file);
  EXPECT_EQ(in->watches[1].mask, static_cast<uint32_t>(IN_MODIFY | IN_ONESHOT));

  // An event waiting to be read cannot be moved: refused, not consumed.
  UniqueFd(::open(dir.file("sub/new").c_str(), O_CREAT | O_WRONLY, 0644));
  auto again = capture_fds(c.pid(), true);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, LMIG_ERR_UNSUPPORTED);
  EXPECT_NE(again.error().message.find("inotify with 32 bytes of unread events is not "
                                       "supported yet"),
            std::string::npos)
      << again.error().message;
  EXPECT_FALSE(capture_fds(c.pid(), false).ok()) << "the dry run sees it too";
}

TEST(FdCapture, MemfdAndDeletedFileContents) {
  TempDir dir;
  std::string path = dir.file("doomed");
  Fds fds;
  Child c = child_with(
      [path](Fds &f) {
        f.n[0] = ::memfd_create("unit memfd", MFD_ALLOW_SEALING);
        if (::ftruncate(f.n[0], 1 << 20) < 0 || ::pwrite(f.n[0], "abc", 3, 8192) != 3)
          ::_exit(4);
        ::fcntl(f.n[0], F_ADD_SEALS, F_SEAL_GROW);
        f.n[1] = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0604);
        if (::write(f.n[1], "hello", 5) != 5)
          ::_exit(4);
        char p[64]; // a second open of the same file
        std::snprintf(p, sizeof p, "/proc/self/fd/%d", f.n[1]);
        f.n[2] = ::open(p, O_RDONLY);
        ::unlink(path.c_str());
      },
      fds);
  auto t = capture_fds(c.pid(), true);
  ASSERT_TRUE(t.ok()) << error_of(t);
  const FileImage *m = file_at(*t, fds.n[0]);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, FileKind::memfd);
  ASSERT_EQ(t->contents.size(), 2u);
  auto contents = [&](uint64_t id) {
    return *std::find_if(t->contents.begin(), t->contents.end(),
                         [&](const ContentsImage &x) { return x.id == id; });
  };
  ContentsImage mc = contents(m->contents_id);
  EXPECT_EQ(mc.name, "unit memfd");
  EXPECT_EQ(mc.size, 1u << 20);
  EXPECT_EQ(mc.seals, static_cast<uint32_t>(F_SEAL_GROW));
  ASSERT_EQ(mc.extents.size(), 1u); // the rest is a hole
  EXPECT_EQ(mc.extents[0].offset, 8192u);
  ASSERT_GE(mc.extents[0].data.size(), 3u);
  EXPECT_EQ(std::string(mc.extents[0].data.begin(), mc.extents[0].data.begin() + 3), "abc");

  const FileImage *d1 = file_at(*t, fds.n[1]), *d2 = file_at(*t, fds.n[2]);
  ASSERT_TRUE(d1 && d2);
  EXPECT_EQ(d1->kind, FileKind::deleted);
  EXPECT_EQ(d1->path, path);
  EXPECT_NE(d1->id, d2->id) << "two opens";
  EXPECT_EQ(d1->contents_id, d2->contents_id) << "of one inode";
  EXPECT_EQ(d1->pos, 5u);
  ContentsImage dc = contents(d1->contents_id);
  EXPECT_EQ(dc.size, 5u);
  EXPECT_EQ(dc.mode, 0604u);
  ASSERT_EQ(dc.extents.size(), 1u);
  EXPECT_EQ(dc.extents[0].data, bytes("hello"));
}

TEST(FdCapture, UnixSocketQueuesArePeekedNotTaken) {
  Fds fds;
  Child c = child_with(
      [](Fds &f) {
        int sv[2];
        ::socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
        f.n[0] = sv[0];
        f.n[1] = sv[1];
        ::send(sv[0], "one", 3, 0);
        ::send(sv[0], "", 0, 0);
        ::send(sv[0], "three", 5, 0);
        ::send(sv[1], "back", 4, 0);
        int off = 1; // the child's own peek offset is kept
        ::setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off);
      },
      fds);
  for (int round = 0; round < 2; round++) {
    auto t = capture_fds(c.pid(), true);
    ASSERT_TRUE(t.ok()) << error_of(t);
    const FileImage *a = file_at(*t, fds.n[0]), *b = file_at(*t, fds.n[1]);
    auto *ua = record(t->unix_sockets, a);
    auto *ub = record(t->unix_sockets, b);
    ASSERT_TRUE(ua && ub);
    EXPECT_EQ(ua->peer_file_id, b->id);
    EXPECT_EQ(ub->peer_file_id, a->id);
    EXPECT_EQ(ua->type, static_cast<uint32_t>(SOCK_DGRAM));
    EXPECT_EQ(ua->queue, std::vector<std::vector<uint8_t>>{bytes("back")});
    EXPECT_EQ(ub->peek_off, 1);
    if (round == 0) // a zero-length datagram is seen until it has been peeked at
      EXPECT_EQ(ub->queue, (std::vector<std::vector<uint8_t>>{bytes("one"), {}, bytes("three")}));
    else
      EXPECT_EQ(ub->queue.front(), bytes("one"));
  }
  // The child's socket still has its peek offset.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, c.pid(), 0)));
  UniqueFd dup(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), fds.n[1], 0)));
  int off = 0;
  socklen_t len = sizeof off;
  ASSERT_EQ(::getsockopt(dup.get(), SOL_SOCKET, SO_PEEK_OFF, &off, &len), 0);
  EXPECT_EQ(off, 1);
}

TEST(FdCapture, FifoBuffer) {
  TempDir dir;
  std::string path = dir.file("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  Fds fds;
  Child c = child_with(
      [path](Fds &f) {
        f.n[0] = ::open(path.c_str(), O_RDWR);
        if (::write(f.n[0], "queued", 6) != 6)
          ::_exit(4);
      },
      fds);
  for (int round = 0; round < 2; round++) {
    auto t = capture_fds(c.pid(), true);
    ASSERT_TRUE(t.ok()) << error_of(t);
    const FileImage *f = file_at(*t, fds.n[0]);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->kind, FileKind::fifo);
    EXPECT_EQ(f->path, path);
    ASSERT_EQ(t->pipes.size(), 1u);
    EXPECT_EQ(t->pipes[0].id, f->pipe_id);
    EXPECT_EQ(t->pipes[0].data, bytes("queued"));
  }
}

// --- refusals --------------------------------------------------------------------

void expect_refused(const Child &c, const std::string &needle) {
  for (bool read_data : {false, true}) {
    auto t = capture_fds(c.pid(), read_data);
    ASSERT_FALSE(t.ok()) << "accepted; expected: " << needle;
    EXPECT_EQ(t.error().code, LMIG_ERR_UNSUPPORTED) << t.error().message;
    EXPECT_NE(t.error().message.find(needle), std::string::npos) << t.error().message;
  }
}

TEST(FdCaptureRefuses, OtherSockets) {
  Fds fds;
  Child tcp = child_with([](Fds &f) { f.n[0] = ::socket(AF_INET, SOCK_STREAM, 0); }, fds);
  expect_refused(tcp, "fd " + std::to_string(fds.n[0]) + ": TCP socket is not supported yet");
  Child udp = child_with([](Fds &f) { f.n[0] = ::socket(AF_INET6, SOCK_DGRAM, 0); }, fds);
  expect_refused(udp, "UDP socket (IPv6) is not supported yet");
}

TEST(FdCaptureRefuses, UnixSocketsThatAreNotAPairInside) {
  TempDir dir;
  std::string path = dir.file("sock");
  Fds fds;
  Child listening = child_with(
      [path](Fds &f) {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
        f.n[0] = ::socket(AF_UNIX, SOCK_STREAM, 0);
        ::bind(f.n[0], reinterpret_cast<sockaddr *>(&a), sizeof a);
        ::listen(f.n[0], 1);
      },
      fds);
  expect_refused(listening, "listening unix socket " + path + " is not supported yet");

  Child unconnected = child_with([](Fds &f) { f.n[0] = ::socket(AF_UNIX, SOCK_DGRAM, 0); }, fds);
  expect_refused(unconnected, "unix socket without a peer is not supported yet");

  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd ours(sv[1]);
  int theirs = sv[0], peer = sv[1];
  Child half = child_with(
      [theirs, peer](Fds &f) {
        ::close(peer); // inherited: only the parent keeps the peer
        f.n[0] = theirs;
      },
      fds);
  ::close(theirs);
  expect_refused(half, "unix socket whose peer is held outside the process");

  Child in_flight = child_with(
      [](Fds &f) {
        int p[2];
        ::socketpair(AF_UNIX, SOCK_STREAM, 0, p);
        f.n[0] = p[0];
        f.n[1] = p[1];
        send_with_fd(p[1], "x", 1, p[0]);
      },
      fds);
  expect_refused(in_flight, "unix socket with 1 file descriptors in flight");
}

TEST(FdCaptureRefuses, EpollOnAFileNoLongerAtItsNumber) {
  Fds fds;
  Child c = child_with(
      [](Fds &f) {
        f.n[0] = ::epoll_create1(0);
        int e = ::eventfd(0, 0);
        f.n[1] = ::dup(e);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ::epoll_ctl(f.n[0], EPOLL_CTL_ADD, e, &ev);
        f.n[2] = e;
        ::close(e); // the entry stays: the file is still open at the dup
      },
      fds);
  expect_refused(c, "epoll watching a file no longer open at fd " + std::to_string(fds.n[2]));
}

TEST(FdCaptureRefuses, PipeEndOutside) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd ours(p[1]);
  int theirs = p[0], write_end = p[1];
  Fds fds;
  Child c = child_with(
      [theirs, write_end](Fds &f) {
        ::close(write_end); // inherited: only the parent keeps the write end
        f.n[0] = theirs;
      },
      fds);
  ::close(theirs);
  expect_refused(c, "pipe whose write end is held outside the process");
}

TEST(FdCaptureRefuses, DeletedFileStillLinkedElsewhere) {
  TempDir dir;
  std::string a = dir.file("a"), b = dir.file("b");
  UniqueFd(::open(a.c_str(), O_CREAT | O_WRONLY, 0644));
  ASSERT_EQ(::link(a.c_str(), b.c_str()), 0);
  Fds fds;
  Child c = child_with(
      [a](Fds &f) {
        f.n[0] = ::open(a.c_str(), O_RDONLY);
        ::unlink(a.c_str());
      },
      fds);
  expect_refused(c, "file " + a + ", deleted but still linked elsewhere is not supported yet");
}

TEST(FdCaptureRefuses, AnonInodesOfOtherKinds) {
  Fds fds;
  Child c = child_with(
      [](Fds &f) { f.n[0] = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC)); }, fds);
  if (fds.n[0] < 0)
    GTEST_SKIP() << "no userfaultfd here";
  expect_refused(c, "userfaultfd is not supported yet");
}

} // namespace
} // namespace lmig
