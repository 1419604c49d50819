// The receiving side of a demand channel (TcpChannel with inline assembly:
// FrameAssembler, then the pages checksum) fed a hostile byte stream over a
// socket pair: written in chunks whose sizes the input chooses, read when
// the input says, the writer closing after the last chunk. It must yield
// exactly the frames a plain reading of the stream finds, in order however
// it was cut, with the right verdict on every pages checksum, then one
// error: a protocol error where the stream stops being lmig, a lost
// connection where it ends.
//
// Input: two bytes that seed the cutting, then the stream
// (frame_stream_input.hpp).
#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "tests/fuzz/frame_stream_input.hpp"
#include "tests/fuzz/fuzz_target.hpp"
#include "transport/tcp_channel.hpp"

namespace {

using namespace lmig;

struct RefFrame {
  uint16_t type;
  std::span<const uint8_t> payload;
};

// What the stream holds, read the simplest way there is.
struct Reference {
  std::vector<RefFrame> frames;
  lmig_status end = LMIG_ERR_CONNECTION_LOST;
};

Reference read_plainly(std::span<const uint8_t> s) {
  Reference ref;
  size_t at = 0;
  while (s.size() - at >= sizeof(wire::FrameHeader)) {
    wire::FrameHeader h;
    std::memcpy(&h, s.data() + at, sizeof h);
    if (h.magic != wire::kMagic || h.length > FrameAssembler::kDefaultMaxFrame) {
      ref.end = LMIG_ERR_PROTOCOL;
      break;
    }
    if (s.size() - at - sizeof h < h.length)
      break; // cut short by the close
    ref.frames.push_back({h.type, s.subspan(at + sizeof h, h.length)});
    at += sizeof h + h.length;
  }
  return ref;
}

void check_frame(const InMessage &m, const RefFrame &want) {
  fuzz::check(static_cast<uint16_t>(m.type) == want.type, "a frame of another type");
  std::span<const uint8_t> payload = want.payload;
  if (m.type == wire::Type::pages && payload.size() >= sizeof(wire::PagesHeader)) {
    wire::PagesHeader h;
    std::memcpy(&h, payload.data(), sizeof h);
    fuzz::check(std::memcmp(&m.pages, &h, sizeof h) == 0, "a pages frame with another header");
    payload = payload.subspan(sizeof h);
    fuzz::check(m.checksum_ok == (XXH3_64bits(payload.data(), payload.size()) == h.xxh3),
                "a pages frame with the wrong checksum verdict");
  } else {
    fuzz::check(m.checksum_ok, "a frame that is not pages failed its checksum");
  }
  fuzz::check(m.payload.size() == payload.size() &&
                  std::memcmp(m.payload.data(), payload.data(), payload.size()) == 0,
              "a frame with another payload");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < fuzz::kCuttingBytes)
    return 0;
  fuzz::Cutting cutting(data);
  const std::span<const uint8_t> stream(data + fuzz::kCuttingBytes, size - fuzz::kCuttingBytes);
  const Reference ref = read_plainly(stream);

  int sv[2];
  fuzz::check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
  const int writer = sv[0];
  auto channel = TcpChannel::create(Connection::adopt(UniqueFd(sv[1]), "fuzz"),
                                    TcpChannel::Receive::inline_assembly,
                                    TcpChannel::Send::immediate, 1);
  fuzz::check(channel.ok(), "TcpChannel::create");
  Channel &ch = **channel;

  size_t seen = 0;
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
      fuzz::check(seen < ref.frames.size(), "a frame the stream does not hold");
      check_frame(**got, ref.frames[seen++]);
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
      fuzz::check(errno == EAGAIN, "send to the socket pair");
      fuzz::check(++refused < 100, "the channel stopped reading");
      drain();
    }
  }
  // The peer may close before the last frames it sent were read. A reader
  // woken by the close may first get the last bytes, then the end: each
  // round must bring one of them.
  ::close(writer);
  for (int round = 0; round < 3 && !ended; round++)
    drain();

  fuzz::check(ended.has_value(), "a closed connection went unnoticed");
  fuzz::check(seen == ref.frames.size(), "frames of the stream were not delivered");
  fuzz::check(ended->code == ref.end, ref.end == LMIG_ERR_PROTOCOL
                                          ? "a stream that is not lmig was not refused"
                                          : "the end of the stream was not a lost connection");
  return 0;
}
