// A demand channel receiving sealed frames (channel_feed.hpp), as every TCP
// channel does once its handshake is done. The input holds frames in
// clear, which the harness seals as the peer would, damaging some as the
// input says (sealed_stream_input.hpp): the channel must deliver exactly
// the plaintexts sealed before the first damage, in order however the
// stream was cut, and nothing from the damaged frame on (altered, dropped
// or replayed, it fails to open), then an error.
//
// Input: two bytes that seed the cutting (frame_stream_input.hpp), then
// frames in clear; what follows the last of them that reads as a frame
// goes on the wire as it is.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "tests/fuzz/channel_feed.hpp"
#include "tests/fuzz/fuzz_target.hpp"
#include "tests/fuzz/sealed_stream_input.hpp"
#include "transport/frame_assembler.hpp"

namespace {

using namespace lmig;
using Bytes = std::vector<uint8_t>;

struct Plain {
  uint16_t type;
  std::span<const uint8_t> payload;
};

struct Wire {
  Bytes bytes;                // what the peer sends
  std::vector<Plain> intact;  // what must be delivered
  bool disturbed = false;     // a frame was damaged, dropped or replayed
  bool tail = false;          // bytes that are no sealed frame follow
};

Wire seal_stream(std::span<const uint8_t> s) {
  Wire w;
  FrameSealer sealer(fuzz::stream_key());
  size_t at = 0;
  while (s.size() - at >= sizeof(wire::FrameHeader)) {
    wire::FrameHeader h;
    std::memcpy(&h, s.data() + at, sizeof h);
    if (h.magic != wire::kMagic || h.length > FrameAssembler::kDefaultMaxFrame - kTagBytes ||
        s.size() - at - sizeof h < h.length)
      break;
    const Plain plain{h.type, s.subspan(at + sizeof h, h.length)};
    at += sizeof h + h.length;
    const uint32_t todo = h.reserved;
    h.reserved = 0;
    Bytes frame(sizeof h + plain.payload.size() + kTagBytes);
    std::copy(plain.payload.begin(), plain.payload.end(), frame.begin() + sizeof h);
    std::span<uint8_t> piece(frame.data() + sizeof h, plain.payload.size());
    fuzz::check(sealer.seal(h, {&piece, 1}, frame.data() + sizeof h + piece.size()).ok(), "seal");
    std::memcpy(frame.data(), &h, sizeof h);

    const fuzz::Damage damage = fuzz::damage_of(todo);
    if (!w.disturbed && damage != fuzz::Damage::flip && damage != fuzz::Damage::drop)
      w.intact.push_back(plain); // a replayed frame's first copy is intact
    w.disturbed = w.disturbed || damage != fuzz::Damage::none;
    switch (damage) {
    case fuzz::Damage::none: break;
    case fuzz::Damage::flip: {
      const uint32_t bit = fuzz::where_of(todo) % (frame.size() * 8);
      frame[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      break;
    }
    case fuzz::Damage::drop: continue;
    case fuzz::Damage::replay: w.bytes.insert(w.bytes.end(), frame.begin(), frame.end()); break;
    }
    w.bytes.insert(w.bytes.end(), frame.begin(), frame.end());
  }
  w.tail = at < s.size();
  w.bytes.insert(w.bytes.end(), s.begin() + static_cast<ptrdiff_t>(at), s.end());
  return w;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < fuzz::kCuttingBytes)
    return 0;
  const Wire w = seal_stream({data + fuzz::kCuttingBytes, size - fuzz::kCuttingBytes});
  // The receiver's keys: it opens what the sender sealed.
  const Key other = [] {
    Key k = fuzz::stream_key();
    k[0] ^= 1;
    return k;
  }();
  const fuzz::Fed fed = fuzz::feed_channel(
      w.bytes, fuzz::Cutting(data), std::make_shared<FrameCrypto>(other, fuzz::stream_key()),
      [&](const InMessage &m, size_t i) {
        fuzz::check(i < w.intact.size(), "a damaged, dropped or replayed frame was delivered");
        fuzz::check_message(m, w.intact[i].type, w.intact[i].payload, true);
      });
  fuzz::check(fed.frames == w.intact.size(), "frames sealed intact were not delivered");
  if (!w.disturbed && !w.tail)
    fuzz::check(fed.end.code == LMIG_ERR_CONNECTION_LOST,
                "the end of a sound stream was not a lost connection");
  else
    fuzz::check(fed.end.code == LMIG_ERR_PROTOCOL || fed.end.code == LMIG_ERR_CONNECTION_LOST,
                "a damaged stream ended with another error");
  return 0;
}
