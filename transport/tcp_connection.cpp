#include "transport/tcp_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/base/clock.hpp"

namespace lmig {
namespace {

std::string sockaddr_str(const sockaddr_storage &ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    auto *a = reinterpret_cast<const sockaddr_in *>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  auto *a = reinterpret_cast<const sockaddr_in6 *>(&ss);
  inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
  port = ntohs(a->sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

void tune(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

} // namespace

Result<Connection> Connection::connect(const Endpoint &ep, int timeout_ms) {
  LMIG_ASSIGN_OR_RETURN(ResolvedAddress ra, resolve(ep, false));
  UniqueFd fd(::socket(ra.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd)
    return sys_error("socket");
  auto fail = [&](int err) {
    Error e = make_error(LMIG_ERR_CONNECT,
                         "cannot reach " + ep.str() + ": " + std::strerror(err), err);
    return e;
  };
  if (::connect(fd.get(), reinterpret_cast<const sockaddr *>(&ra.addr), ra.len) < 0) {
    if (errno != EINPROGRESS)
      return fail(errno);
    pollfd p{fd.get(), POLLOUT, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r == 0)
      return make_error(LMIG_ERR_CONNECT, "cannot reach " + ep.str() + ": no answer within " +
                                              std::to_string(timeout_ms) + " ms",
                        ETIMEDOUT);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err)
      return fail(err);
  }
  int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  tune(fd.get());
  return Connection(std::move(fd), ep.str());
}

Connection Connection::adopt(UniqueFd fd, std::string peer) {
  tune(fd.get());
  return Connection(std::move(fd), std::move(peer));
}

Status Connection::wait_io(short events, int timeout_ms) {
  pollfd p{fd_.get(), events, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r > 0)
      return {};
    if (r == 0)
      return make_error(LMIG_ERR_TIMEOUT, "peer " + peer_ + " was silent for " +
                                              std::to_string(timeout_ms) + " ms",
                        ETIMEDOUT);
    if (errno != EINTR)
      return sys_error("poll " + peer_);
  }
}

Status Connection::write_all(const iovec *iov_in, int n) {
  if (!fd_)
    return make_error(LMIG_ERR_CONNECTION_LOST, "connection to " + peer_ + " is closed");
  iovec iov[4];
  std::memcpy(iov, iov_in, sizeof(iovec) * static_cast<size_t>(n));
  int first = 0;
  while (first < n) {
    msghdr mh{};
    mh.msg_iov = iov + first;
    mh.msg_iovlen = static_cast<size_t>(n - first);
    ssize_t w = ::sendmsg(fd_.get(), &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN) {
        LMIG_TRY(wait_io(POLLOUT, timeout_ms_));
        continue;
      }
      int err = errno;
      return make_error(LMIG_ERR_CONNECTION_LOST,
                        "connection to " + peer_ + " broke: " + std::strerror(err), err);
    }
    size_t left = static_cast<size_t>(w);
    while (first < n && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      first++;
    }
    if (first < n) {
      iov[first].iov_base = static_cast<char *>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return {};
}

// The payload is gathered into a buffer of our own and sealed there: the
// caller's memory is left as it was.
Status Connection::send_sealed(wire::FrameHeader h,
                               std::span<const std::span<const uint8_t>> pieces) {
  size_t len = 0;
  for (auto p : pieces)
    len += p.size();
  scratch_.resize(len + kTagBytes);
  LMIG_TRY(crypto_->seal.seal_to(h, pieces, scratch_.data()));
  iovec iov[2] = {{&h, sizeof h}, {scratch_.data(), scratch_.size()}};
  return write_all(iov, 2);
}

Status Connection::send(wire::Type type, std::span<const uint8_t> payload) {
  wire::FrameHeader h{wire::kMagic, static_cast<uint16_t>(type), 0,
                      static_cast<uint32_t>(payload.size()), 0};
  if (crypto_)
    return send_sealed(h, std::span<const std::span<const uint8_t>>(&payload, 1));
  iovec iov[2] = {{&h, sizeof h}, {const_cast<uint8_t *>(payload.data()), payload.size()}};
  return write_all(iov, payload.empty() ? 1 : 2);
}

Status Connection::send_pages(const wire::PagesHeader &ph, const void *data) {
  const size_t len = static_cast<size_t>(ph.npages) * 4096;
  wire::FrameHeader h{wire::kMagic, static_cast<uint16_t>(wire::Type::pages), 0,
                      static_cast<uint32_t>(sizeof ph + len), 0};
  if (crypto_) {
    const std::span<const uint8_t> pieces[2] = {
        {reinterpret_cast<const uint8_t *>(&ph), sizeof ph},
        {static_cast<const uint8_t *>(data), len}};
    return send_sealed(h, pieces);
  }
  iovec iov[3] = {{&h, sizeof h},
                  {const_cast<wire::PagesHeader *>(&ph), sizeof ph},
                  {const_cast<void *>(data), len}};
  return write_all(iov, 3);
}

Status Connection::wait_readable(const Patience &p) {
  if (!p.within_ms)
    return wait_io(POLLIN, p.idle_ms);
  const uint64_t now = now_ns();
  const uint64_t left_ms = now < p.deadline_ns ? (p.deadline_ns - now + 999999) / 1000000 : 0;
  Status st = left_ms ? wait_io(POLLIN, static_cast<int>(std::min<uint64_t>(
                                            left_ms, static_cast<uint64_t>(p.idle_ms))))
                      : Status(make_error(LMIG_ERR_TIMEOUT, "", ETIMEDOUT));
  if (!st.ok() && st.error().code == LMIG_ERR_TIMEOUT)
    st.error().message = "peer " + peer_ + " sent no whole message within " +
                         std::to_string(p.within_ms) + " ms";
  return st;
}

Status Connection::read_exact(void *buf, size_t len, const Patience &pat, bool at_frame_start) {
  if (!fd_)
    return make_error(LMIG_ERR_CONNECTION_LOST, "connection to " + peer_ + " is closed");
  auto *p = static_cast<uint8_t *>(buf);
  size_t got = 0;
  while (got < len) {
    ssize_t r = ::recv(fd_.get(), p + got, len - got, MSG_DONTWAIT);
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    if (r == 0)
      return make_error(LMIG_ERR_CONNECTION_LOST,
                        "peer " + peer_ + " closed the connection" +
                            (got || !at_frame_start ? " in the middle of a message" : ""));
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN) {
      LMIG_TRY(wait_readable(pat));
      continue;
    }
    int err = errno;
    return make_error(LMIG_ERR_CONNECTION_LOST,
                      "connection to " + peer_ + " broke: " + std::strerror(err), err);
  }
  return {};
}

Result<wire::Type> Connection::recv(std::vector<uint8_t> &payload) {
  return recv_frame(payload, {timeout_ms_, 0, 0}, wire::kMaxPayload);
}

Result<wire::Type> Connection::recv_within(std::vector<uint8_t> &payload, int timeout_ms,
                                           uint32_t max_payload) {
  return recv_frame(payload,
                    {timeout_ms, timeout_ms, now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000},
                    max_payload);
}

Result<wire::Type> Connection::recv_frame(std::vector<uint8_t> &payload, const Patience &pat,
                                          uint32_t max_payload) {
  wire::FrameHeader h{};
  LMIG_TRY(read_exact(&h, sizeof h, pat, true));
  if (h.magic != wire::kMagic) {
    char b[64];
    snprintf(b, sizeof b, "0x%08x", h.magic);
    return make_error(LMIG_ERR_PROTOCOL,
                      "peer " + peer_ + " does not speak the lmig protocol (frame magic " + b + ")");
  }
  if (h.length > max_payload)
    return make_error(LMIG_ERR_PROTOCOL, "peer " + peer_ + " announced a frame of " +
                                             std::to_string(h.length) + " bytes (limit " +
                                             std::to_string(max_payload) + " here)");
  LMIG_ASSIGN_OR_RETURN(size_t plain, check_sealing(h, crypto_.get(), peer_));
  // The length is the peer's word only: the buffer doubles as the bytes
  // come, so announcing 256 MiB and sending little costs little.
  constexpr size_t kFirstStep = 64 << 10;
  payload.clear();
  size_t got = 0;
  while (got < h.length) {
    const size_t want = std::min<size_t>(h.length, std::max(kFirstStep, 2 * got));
    payload.resize(want);
    LMIG_TRY(read_exact(payload.data() + got, want - got, pat, false));
    got = want;
  }
  if (crypto_) {
    LMIG_TRY(crypto_->open.open(h, payload.data(), peer_));
    payload.resize(plain);
  }
  return static_cast<wire::Type>(h.type);
}

Result<Listener> Listener::bind(const Endpoint &ep) {
  LMIG_ASSIGN_OR_RETURN(ResolvedAddress ra, resolve(ep, true));
  Listener l;
  l.ep_ = ep;
  l.fd_.reset(::socket(ra.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!l.fd_)
    return sys_error("socket");
  int one = 1;
  ::setsockopt(l.fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(l.fd_.get(), reinterpret_cast<const sockaddr *>(&ra.addr), ra.len) < 0)
    return sys_error("bind " + ep.str());
  // Room for a burst of connections: a full queue drops SYNs (the peer
  // retries a second later), while the server would rather take each and
  // close it at once when it is over its own cap.
  constexpr int kListenBacklog = 128;
  if (::listen(l.fd_.get(), kListenBacklog) < 0)
    return sys_error("listen " + ep.str());
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(l.fd_.get(), reinterpret_cast<sockaddr *>(&ss), &len);
  l.port_ = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in *>(&ss)->sin_port
                                          : reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port);
  l.ep_.port = l.port_;
  return l;
}

Result<Connection> Listener::accept() {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int fd = ::accept4(fd_.get(), reinterpret_cast<sockaddr *>(&ss), &len, SOCK_CLOEXEC);
  if (fd < 0)
    return sys_error("accept on " + ep_.str());
  return Connection::adopt(UniqueFd(fd), sockaddr_str(ss));
}

} // namespace lmig
