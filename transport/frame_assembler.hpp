// Assembles lmig frames from a non-blocking socket, for an event loop that
// must never block on one connection (the pager's demand channel): fill()
// takes whatever bytes have arrived, next() yields complete frames.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/base/error.hpp"
#include "transport/secure/frame_cipher.hpp"
#include "transport/wire.hpp"

namespace lmig {

class FrameAssembler {
public:
  // A full pages frame and its header, with room to spare.
  static constexpr size_t kDefaultMaxFrame = (4u << 20) + 4096;

  // The buffer is left uninitialised: pages are touched only as frames
  // fill them (zeroing 4 MiB up front cost milliseconds of the restore).
  explicit FrameAssembler(std::string peer, size_t max_frame = kDefaultMaxFrame)
      : peer_(std::move(peer)), max_frame_(max_frame), cap_(max_frame + 16),
        buf_(new uint8_t[max_frame + 16]) {}

  // The connection's keys: frames are opened in place (null: in clear).
  void set_crypto(FrameCryptoPtr crypto) { crypto_ = std::move(crypto); }
  // Reads what the socket holds. false: nothing new. Error: closed, broken
  // or garbage.
  Result<bool> fill(int fd);
  // The complete frame at the front, if any; valid until consume().
  Result<bool> front(wire::Type &type, std::span<const uint8_t> &payload);
  void consume();

private:
  std::string peer_;
  size_t max_frame_;
  size_t cap_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t have_ = 0;
  FrameCryptoPtr crypto_;
  size_t front_plain_ = SIZE_MAX; // the front frame is opened: its plaintext length
};

} // namespace lmig
