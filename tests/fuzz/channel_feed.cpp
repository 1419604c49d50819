#include "tests/fuzz/channel_feed.hpp"

#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "tests/fuzz/fuzz_target.hpp"
#include "transport/tcp_channel.hpp"

namespace lmig::fuzz {

Fed feed_channel(std::span<const uint8_t> stream, Cutting cutting, FrameCryptoPtr crypto,
                 const std::function<void(const InMessage &, size_t)> &on_frame) {
  int sv[2];
  check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
  const int writer = sv[0];
  Connection conn = Connection::adopt(UniqueFd(sv[1]), "fuzz");
  conn.set_crypto(std::move(crypto));
  auto channel = TcpChannel::create(std::move(conn), TcpChannel::Receive::inline_assembly,
                                    TcpChannel::Send::immediate, 1);
  check(channel.ok(), "TcpChannel::create");
  Channel &ch = **channel;

  Fed fed;
  std::optional<Error> ended;
  // Takes every frame the channel has now, or its error.
  auto drain = [&] {
    for (;;) {
      auto got = ch.poll();
      if (!got.ok()) {
        ended = std::move(got).error();
        return;
      }
      if (!*got)
        return;
      on_frame(**got, fed.frames++);
      ch.release(**got);
    }
  };

  size_t sent = 0;
  int refused = 0; // sends in a row the socket buffer had no room for
  while (sent < stream.size() && !ended) {
    const size_t n = std::min(cutting.next(), stream.size() - sent);
    ssize_t w = ::send(writer, stream.data() + sent, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w > 0) {
      sent += static_cast<size_t>(w);
      refused = 0;
      if (cutting.read_now())
        drain();
    } else {
      check(errno == EAGAIN, "send to the socket pair");
      check(++refused < 100, "the channel stopped reading");
      drain();
    }
  }
  // The peer may close before the last frames it sent were read. A reader
  // woken by the close may first get the last bytes, then the end: each
  // round must bring one of them.
  ::close(writer);
  for (int round = 0; round < 3 && !ended; round++)
    drain();
  check(ended.has_value(), "a closed connection went unnoticed");
  fed.end = std::move(*ended);
  return fed;
}

void check_message(const InMessage &m, uint16_t type, std::span<const uint8_t> payload,
                   bool sealed) {
  check(static_cast<uint16_t>(m.type) == type, "a frame of another type");
  if (m.type == wire::Type::pages && payload.size() >= sizeof(wire::PagesHeader)) {
    wire::PagesHeader h;
    std::memcpy(&h, payload.data(), sizeof h);
    check(std::memcmp(&m.pages, &h, sizeof h) == 0, "a pages frame with another header");
    payload = payload.subspan(sizeof h);
    const bool intact = (h.flags & wire::kPagesSealedNoChecksum)
                            ? sealed
                            : XXH3_64bits(payload.data(), payload.size()) == h.xxh3;
    check(m.checksum_ok == intact, "a pages frame with the wrong checksum verdict");
  } else {
    check(m.checksum_ok, "a frame that is not pages failed its checksum");
  }
  check(std::equal(m.payload.begin(), m.payload.end(), payload.begin(), payload.end()),
        "a frame with another payload");
}

} // namespace lmig::fuzz
