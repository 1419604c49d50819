#include "tests/integration/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "tests/integration/harness.hpp"

namespace lmig::test {

void TcpProxy::watch_for(std::string needle) {
  std::lock_guard lock(mu_);
  needle_ = std::move(needle);
}

void TcpProxy::pump(int from, int to) {
  std::string needle;
  {
    std::lock_guard lock(mu_);
    needle = needle_;
  }
  std::string window; // the end of the last read, so a needle across two reads is found
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0)
      break;
    if (!needle.empty() && !seen_) {
      window.append(buf, static_cast<size_t>(n));
      if (window.find(needle) != std::string::npos)
        seen_ = true;
      window.erase(0, window.size() > needle.size() ? window.size() - needle.size() : 0);
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
      if (w <= 0)
        goto out;
      off += w;
    }
  }
out:
  ::shutdown(to, SHUT_RDWR);
  ::shutdown(from, SHUT_RDWR);
}

TcpProxy::TcpProxy(uint16_t target_port) : target_port_(target_port) {
  listen_.reset(listen_loopback(port_));
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  ::shutdown(listen_.get(), SHUT_RDWR);
  acceptor_.join();
  cut();
  std::lock_guard lock(mu_);
  for (auto &t : pumps_)
    t.join();
  for (int fd : live_)
    ::close(fd);
}

void TcpProxy::cut() {
  std::lock_guard lock(mu_);
  for (int fd : live_) {
    // RST rather than FIN: the link is gone, not closed politely.
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::shutdown(fd, SHUT_RDWR);
  }
}

void TcpProxy::accept_loop() {
  while (!stop_) {
    int c = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0)
      return;
    if (refuse_) {
      linger l{1, 0};
      ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      ::close(c);
      continue;
    }
    int t = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(target_port_);
    if (::connect(t, reinterpret_cast<sockaddr *>(&a), sizeof a) < 0) {
      ::close(t);
      ::close(c);
      continue;
    }
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    accepted_++;
    std::lock_guard lock(mu_);
    live_.push_back(c);
    live_.push_back(t);
    pumps_.emplace_back([this, c, t] { pump(c, t); });
    pumps_.emplace_back([this, c, t] { pump(t, c); });
  }
}

} // namespace lmig::test
