#include "tests/integration/fake_peer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "tests/integration/harness.hpp"
#include <vector>

#include "transport/secure/handshake.hpp"
#include "transport/tcp_connection.hpp"
#include "transport/wire.hpp"

namespace lmig::test {

FakePeer::FakePeer(PeerScript script) : script_(script) {
  listen_.reset(listen_loopback(port_));
  thread_ = std::thread([this] { serve(); });
}

FakePeer::~FakePeer() { join(); }

void FakePeer::join() {
  if (thread_.joinable()) {
    ::shutdown(listen_.get(), SHUT_RDWR);
    thread_.join();
  }
}

void FakePeer::serve() {
  int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  Connection c = Connection::adopt(UniqueFd(fd), "lmig");
  c.set_io_timeout(20000);
  // An lmigd without a key as far as the handshake goes; the script plays
  // out on the encrypted connection.
  auto secured = handshake_accept(
      c, [](wire::Role, uint64_t, bool) { return Result<std::vector<uint8_t>>(std::vector<uint8_t>{}); },
      false, 20000);
  if (!secured.ok())
    return;
  c.set_crypto(secured->crypto);
  std::vector<uint8_t> buf;
  auto t = c.recv(buf);
  if (!t.ok() || *t != wire::Type::hello)
    return;
  reached_ = "hello";
  if (script_ == PeerScript::garbage) {
    const char junk[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    (void)::write(fd, junk, sizeof junk - 1);
    ::sleep(1);
    return;
  }
  if (script_ == PeerScript::close_after_hello)
    return;
  wire::Hello h;
  (void)c.send(wire::Type::hello_ack, wire::encode(h));
  t = c.recv(buf);
  if (!t.ok() || *t != wire::Type::image)
    return;
  reached_ = "image";
  if (script_ == PeerScript::close_after_image)
    return;
  if (script_ == PeerScript::error_after_image) {
    wire::ErrorMsg e{LMIG_ERR_TARGET_FAILED, 28, "restore failed: disk full (injected)"};
    (void)c.send(wire::Type::error, wire::encode(e));
    ::sleep(1);
    return;
  }
  (void)c.send(wire::Type::ready);
  int frames = 0;
  for (;;) {
    t = c.recv(buf);
    if (!t.ok())
      return;
    if (*t == wire::Type::pages && ++frames == 3 && script_ == PeerScript::close_mid_pages) {
      reached_ = "pages";
      return;
    }
    if (*t == wire::Type::pages_end) {
      reached_ = "pages_end";
      return; // vanish_after_pages: hang up without saying whether it runs
    }
  }
}

} // namespace lmig::test
