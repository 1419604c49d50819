// How the sealed_stream harness reads its frames: in clear, each sealed by
// the harness with its header's reserved field (zeroed before sealing)
// read as what to do to it on the wire. make_seeds writes its seeds the
// same way.
#pragma once

#include <cstdint>

#include "transport/secure/frame_cipher.hpp"

namespace lmig::fuzz {

enum class Damage : uint32_t {
  none = 0,
  flip = 1,   // one bit of the sealed frame (header, payload or tag) flipped
  drop = 2,   // sealed, then not sent: the next one is out of order
  replay = 3, // sent twice
};

// The reserved field that asks for `damage`, at bit `where` of the frame.
inline uint32_t instruction(Damage damage, uint32_t where = 0) {
  return static_cast<uint32_t>(damage) | where << 2;
}
inline Damage damage_of(uint32_t reserved) { return static_cast<Damage>(reserved & 3); }
inline uint32_t where_of(uint32_t reserved) { return reserved >> 2; }

// The key the sender seals with and the receiver opens with.
inline Key stream_key() {
  Key k;
  for (size_t i = 0; i < k.size(); i++)
    k[i] = static_cast<uint8_t>(0xa5 ^ (i * 29));
  return k;
}

} // namespace lmig::fuzz
