// AES-256-GCM for the frames of one connection: each direction has a key of
// its own (from the handshake), the 16-byte frame header travels in clear
// but authenticated, the payload is sealed in place and followed by a
// 16-byte tag, and the nonce is the frame's number in its direction, so a
// frame replayed, dropped, reordered or altered fails to open. Frames
// sealed so carry wire::kFrameSealed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "engine/base/error.hpp"
#include "transport/wire.hpp"

namespace lmig {

inline constexpr size_t kTagBytes = 16;
using Key = std::array<uint8_t, 32>;

class FrameSealer {
public:
  explicit FrameSealer(const Key &key);
  ~FrameSealer();
  FrameSealer(const FrameSealer &) = delete;
  FrameSealer &operator=(const FrameSealer &) = delete;
  // h.length is the payload's plaintext length on entry; on return it
  // counts the tag and kFrameSealed is set. The payload is the
  // concatenation of `pieces`, each encrypted in place; the tag goes to
  // `tag`.
  Status seal(wire::FrameHeader &h, std::span<const std::span<uint8_t>> pieces, uint8_t *tag);
  // The same, the ciphertext of `pieces` written one after another to
  // `out` (room for all of them) and the tag after it: one pass, no copy
  // of the plaintext first.
  Status seal_to(wire::FrameHeader &h, std::span<const std::span<const uint8_t>> pieces,
                 uint8_t *out);

private:
  Status begin(wire::FrameHeader &h);
  Status encrypt(const uint8_t *in, size_t len, uint8_t *out);
  Status finish(uint8_t *tag);
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  uint64_t counter_ = 0;
};

class FrameOpener {
public:
  explicit FrameOpener(const Key &key);
  ~FrameOpener();
  FrameOpener(const FrameOpener &) = delete;
  FrameOpener &operator=(const FrameOpener &) = delete;
  // `frame` is the payload as received (plaintext and tag) of the frame
  // whose header is h; decrypts it in place and returns the plaintext
  // length. A frame that fails is an error naming `peer`.
  Result<size_t> open(const wire::FrameHeader &h, uint8_t *frame, const std::string &peer);

private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  uint64_t counter_ = 0;
};

// Both directions of one connection, shared by whatever sends and receives
// on it (a Connection, then the channel built on it).
struct FrameCrypto {
  FrameCrypto(const Key &send_key, const Key &recv_key) : seal(send_key), open(recv_key) {}
  FrameSealer seal;
  FrameOpener open;
};
using FrameCryptoPtr = std::shared_ptr<FrameCrypto>;

// Checks a received header against what the connection expects (sealed
// frames exactly when it has crypto); the payload's plaintext length.
Result<size_t> check_sealing(const wire::FrameHeader &h, const FrameCrypto *crypto,
                             const std::string &peer);

} // namespace lmig
