// A demand channel receiving in clear (channel_feed.hpp) fed hostile bytes:
// it must yield exactly the frames a plain reading of the stream finds, in
// order however the stream was cut and whenever it was read, with the
// right verdict on every pages checksum, then one error: a protocol error
// where the stream stops being lmig in clear, a lost connection where it
// ends.
//
// Input: two bytes that seed the cutting (frame_stream_input.hpp), then
// the stream.
#include <cstring>
#include <vector>

#include "tests/fuzz/channel_feed.hpp"
#include "tests/fuzz/fuzz_target.hpp"
#include "transport/frame_assembler.hpp"

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
    if (h.magic != wire::kMagic || h.length > FrameAssembler::kDefaultMaxFrame ||
        (h.flags & wire::kFrameSealed)) {
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

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < fuzz::kCuttingBytes)
    return 0;
  const std::span<const uint8_t> stream(data + fuzz::kCuttingBytes, size - fuzz::kCuttingBytes);
  const Reference ref = read_plainly(stream);
  const fuzz::Fed fed =
      fuzz::feed_channel(stream, fuzz::Cutting(data), nullptr, [&](const InMessage &m, size_t i) {
        fuzz::check(i < ref.frames.size(), "a frame the stream does not hold");
        fuzz::check_message(m, ref.frames[i].type, ref.frames[i].payload, false);
      });
  fuzz::check(fed.frames == ref.frames.size(), "frames of the stream were not delivered");
  fuzz::check(fed.end.code == ref.end, ref.end == LMIG_ERR_PROTOCOL
                                           ? "a stream that is not lmig was not refused"
                                           : "the end of the stream was not a lost connection");
  return 0;
}
