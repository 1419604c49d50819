// A framed-message connection over TCP (blocking I/O with timeouts) and the
// listener that accepts them. Every failure names the peer and what broke:
// silence past the timeout, a close mid-stream, or bytes that are not lmig.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/base/unique_fd.hpp"
#include "transport/address.hpp"
#include "transport/secure/frame_cipher.hpp"
#include "transport/wire.hpp"

namespace lmig {

class Connection {
public:
  Connection() = default;
  static Result<Connection> connect(const Endpoint &ep, int timeout_ms);
  static Connection adopt(UniqueFd fd, std::string peer);

  void set_io_timeout(int ms) { timeout_ms_ = ms; }
  Status send(wire::Type type, std::span<const uint8_t> payload = {});
  // A pages frame, gathered straight from `data` (npages * 4096 bytes).
  Status send_pages(const wire::PagesHeader &h, const void *data);
  // Receives one frame into `payload` (resized); returns its type. The
  // buffer grows as the payload arrives, never to the length the header
  // announces before the bytes are there.
  Result<wire::Type> recv(std::vector<uint8_t> &payload);
  // Like recv, for a peer not trusted yet: the whole frame must arrive
  // within timeout_ms (LMIG_ERR_TIMEOUT), and a header announcing more than
  // max_payload bytes is refused at once.
  Result<wire::Type> recv_within(std::vector<uint8_t> &payload, int timeout_ms,
                                 uint32_t max_payload = wire::kMaxPayload);

  // From the handshake on, every frame is sealed with these keys (shared
  // with the channel built on this connection); null: in clear.
  void set_crypto(FrameCryptoPtr crypto) { crypto_ = std::move(crypto); }
  const FrameCryptoPtr &crypto() const { return crypto_; }

  int fd() const { return fd_.get(); }
  const std::string &peer() const { return peer_; }
  void close() { fd_.reset(); }
  bool open() const { return fd_.valid(); }

private:
  Connection(UniqueFd fd, std::string peer) : fd_(std::move(fd)), peer_(std::move(peer)) {}
  // How long a frame may take: at most idle_ms of silence and, when
  // within_ms is set, all of it by deadline_ns.
  struct Patience {
    int idle_ms = 0;
    int within_ms = 0;
    uint64_t deadline_ns = 0;
  };
  Result<wire::Type> recv_frame(std::vector<uint8_t> &payload, const Patience &p,
                                uint32_t max_payload);
  Status write_all(const iovec *iov, int n);
  Status read_exact(void *buf, size_t len, const Patience &p, bool at_frame_start);
  Status wait_readable(const Patience &p);
  Status wait_io(short events, int timeout_ms);

  Status send_sealed(wire::FrameHeader h, std::span<const std::span<const uint8_t>> pieces);

  UniqueFd fd_;
  std::string peer_;
  int timeout_ms_ = 30000;
  FrameCryptoPtr crypto_;
  std::vector<uint8_t> scratch_; // a sealed payload on its way out
};

class Listener {
public:
  static Result<Listener> bind(const Endpoint &ep);
  Result<Connection> accept();
  uint16_t port() const { return port_; }
  int fd() const { return fd_.get(); }
  const Endpoint &endpoint() const { return ep_; }

private:
  UniqueFd fd_;
  uint16_t port_ = 0;
  Endpoint ep_;
};

} // namespace lmig
