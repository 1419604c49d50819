// What the frame_stream and sealed_stream harnesses share: a byte stream
// fed to the receiving side of a demand channel (TcpChannel with inline
// assembly: FrameAssembler, opening sealed frames, then the pages
// checksum) over a socket pair, written in the chunks a Cutting chooses and
// read when it says, the writer closing after the last chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "engine/base/error.hpp"
#include "tests/fuzz/frame_stream_input.hpp"
#include "transport/channel.hpp"
#include "transport/secure/frame_cipher.hpp"

namespace lmig::fuzz {

struct Fed {
  size_t frames = 0; // delivered
  Error end;         // how it stopped: the close, or what the channel refused
};

// crypto: the receiving end's keys (null: frames in clear). on_frame sees
// each delivered message with its index, before it is released.
Fed feed_channel(std::span<const uint8_t> stream, Cutting cutting, FrameCryptoPtr crypto,
                 const std::function<void(const InMessage &, size_t)> &on_frame);

// Checks a delivered message against the frame (type and plaintext
// payload) it must be, and the verdict on its pages if it carries some:
// by their xxh3, or, flagged kPagesSealedNoChecksum, intact exactly when
// the channel is sealed (wire.hpp).
void check_message(const InMessage &m, uint16_t type, std::span<const uint8_t> payload,
                   bool sealed);

} // namespace lmig::fuzz
