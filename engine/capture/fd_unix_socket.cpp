// Unix sockets: one end of a connected, unnamed pair (socketpair) moves
// when the process holds the other end too; the target makes a new pair
// and queues again what waited at each end.
//
// The queues are read without consuming them: MSG_PEEK through a borrowed
// duplicate, walking the queue with SO_PEEK_OFF. The peek offset belongs to
// the socket, which the process shares: it is put back as it was however
// the walk ends. One limit of peeking: a zero-length datagram that was
// already peeked at (by the process, or an earlier attempt) is skipped by
// a walk at an offset, as the kernel does for every reader.
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <cstring>

#include "engine/capture/fd_kinds.hpp"
#include "engine/capture/fdinfo.hpp"
#include "engine/capture/unix_diag.hpp"

namespace lmig {
namespace {

constexpr uint8_t kTcpEstablished = 1, kTcpListen = 10;
constexpr uint32_t kRcvShutdown = 1;
constexpr size_t kMaxMessages = 1u << 20;

std::string printable_name(const std::string &name) {
  if (!name.empty() && name[0] == '\0')
    return "@" + name.substr(1) + " (abstract)";
  return name.substr(0, name.find('\0')); // a path may come with its NUL
}

bool same_netns(pid_t pid) {
  char a[64], b[64];
  ssize_t na = ::readlink(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), a, sizeof a);
  ssize_t nb = ::readlink("/proc/self/ns/net", b, sizeof b);
  return na > 0 && na == nb && std::string_view(a, static_cast<size_t>(na)) ==
                                   std::string_view(b, static_cast<size_t>(nb));
}

int sockopt(int fd, int name) {
  int v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(fd, SOL_SOCKET, name, &v, &len) < 0)
    return -2;
  return v;
}

// Sets the socket's peek offset, and puts the one it had back when done.
class PeekOffset {
public:
  PeekOffset(int fd, int original) : fd_(fd), original_(original) {}
  ~PeekOffset() { set(original_); }
  bool set(int off) { return ::setsockopt(fd_, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off) == 0; }

private:
  int fd_, original_;
};

// Closes fds a peek installed (SCM_RIGHTS); true if there were any.
bool drop_passed_fds(msghdr &mh) {
  bool any = false;
  for (cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      ::close(fd);
    }
    any = true;
  }
  return any || (mh.msg_flags & MSG_CTRUNC);
}

} // namespace

Result<UnixSocketFacts> describe_unix_socket(pid_t pid, int fd, uint64_t ino,
                                             std::string_view fdinfo) {
  if (!same_netns(pid))
    return unsupported_fd(fd, "unix socket in another network namespace");
  auto d = unix_diag(ino);
  if (!d.ok()) {
    if (d.error().sys_errno == ENOENT)
      return unsupported_fd(fd, "unix socket the kernel will not describe");
    return std::move(d).error().context("fd " + std::to_string(fd));
  }
  if (d->state == kTcpListen)
    return unsupported_fd(fd, "listening unix socket " + printable_name(d->name));
  if (!d->name.empty())
    return unsupported_fd(fd, "unix socket bound to " + printable_name(d->name));
  if (d->type != SOCK_STREAM && d->type != SOCK_DGRAM && d->type != SOCK_SEQPACKET)
    return unsupported_fd(fd, "unix socket of type " + std::to_string(d->type));
  if (d->peer_ino == 0 || (d->type != SOCK_DGRAM && d->state != kTcpEstablished))
    return unsupported_fd(fd, "unix socket without a peer");
  auto scm = parse_socket_scm_fds(fdinfo);
  if (!scm.ok())
    return std::move(scm).error().context("fd " + std::to_string(fd));
  if (scm->value_or(0) > 0)
    return unsupported_fd(fd, "unix socket with " + std::to_string(**scm) +
                                  " file descriptors in flight");
  UnixSocketFacts f;
  f.type = d->type;
  f.peer_ino = d->peer_ino;
  f.shutdown = d->shutdown;
  return f;
}

Result<UnixSocketImage> capture_unix_socket(FdBorrower &borrower, int fd,
                                            const UnixSocketFacts &facts, bool read_data) {
  const std::string where = "fd " + std::to_string(fd);
  LMIG_ASSIGN_OR_RETURN(UniqueFd dup, borrower.borrow(fd));
  UnixSocketImage u;
  u.type = facts.type;
  u.shutdown = facts.shutdown;
  int sndbuf = sockopt(dup.get(), SO_SNDBUF), rcvbuf = sockopt(dup.get(), SO_RCVBUF);
  int peek_off = sockopt(dup.get(), SO_PEEK_OFF);
  if (sndbuf < 0 || rcvbuf < 0 || peek_off < -1)
    return sys_error(where + ": read the socket's options");
  u.sndbuf = static_cast<uint32_t>(sndbuf);
  u.rcvbuf = static_cast<uint32_t>(rcvbuf);
  u.peek_off = peek_off;
  if (!read_data)
    return u;

  int inq = 0; // stream, seqpacket: every byte queued
  if (::ioctl(dup.get(), SIOCINQ, &inq) < 0)
    return sys_error(where + ": SIOCINQ");
  PeekOffset guard(dup.get(), peek_off);
  if (!guard.set(0))
    return sys_error(where + ": SO_PEEK_OFF");
  const bool stream = facts.type == SOCK_STREAM;
  std::vector<uint8_t> buf(64 << 10);
  uint64_t offset = 0;
  for (size_t iter = 0;; iter++) {
    if (iter > kMaxMessages)
      return unsupported_fd(fd, "unix socket with more than " + std::to_string(kMaxMessages) +
                                    " queued messages");
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char cbuf[CMSG_SPACE(64 * sizeof(int))];
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    // MSG_TRUNC makes a datagram read say its whole length.
    int flags = MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (stream ? 0 : MSG_TRUNC);
    ssize_t n = ::recvmsg(dup.get(), &mh, flags);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break; // nothing more queued
    if (n < 0)
      return sys_error(where + ": peek at the socket's queue");
    if (drop_passed_fds(mh))
      return unsupported_fd(fd, "unix socket with file descriptors in flight");
    if (stream) {
      if (n == 0)
        break; // the peer shut down its sending side: end of stream
      u.queue.emplace_back(buf.begin(), buf.begin() + n);
    } else {
      if (static_cast<size_t>(n) > buf.size()) {
        // Larger than the buffer: peek it again whole.
        buf.resize(static_cast<size_t>(n));
        if (!guard.set(static_cast<int>(offset)))
          return sys_error(where + ": SO_PEEK_OFF");
        continue;
      }
      // A shut-down seqpacket socket reads 0 at its end, like EOF.
      if (n == 0 && facts.type == SOCK_SEQPACKET && (facts.shutdown & kRcvShutdown) &&
          offset == static_cast<uint64_t>(inq))
        break;
      u.queue.emplace_back(buf.begin(), buf.begin() + n);
    }
    offset += static_cast<uint64_t>(n);
    if (offset > kMaxSocketQueue || offset > 0x7fffffff)
      return unsupported_fd(fd, "unix socket with more than " +
                                    std::to_string(kMaxSocketQueue >> 20) + " MiB queued");
  }
  return u;
}

} // namespace lmig
