// How the frame_stream harness reads its input: two bytes seed how the
// stream is written (the sizes of its chunks, and after which ones the
// reader reads: one stream, many timings), the rest is the stream.
// make_seeds writes its seeds the same way.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lmig::fuzz {

inline constexpr size_t kCuttingBytes = 2;

class Cutting {
public:
  explicit Cutting(const uint8_t *seed) : state_(seed[0] | (uint64_t{seed[1]} << 8)) {}

  // Small chunks, which cut headers and checksums apart, as often as large
  // ones, which bring several frames in one read.
  size_t next() {
    const uint64_t r = splitmix64();
    const uint64_t limit[] = {16, 256, 4096, 65536};
    return 1 + (r >> 2) % limit[r & 3];
  }

  // Whether the reader gets to read after this chunk, or more arrive first.
  bool read_now() { return splitmix64() & 1; }

private:
  uint64_t splitmix64() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

} // namespace lmig::fuzz
