// The pre-shared key both ends of a migration prove they hold, read from a
// file that only its owner can read: never from the command line or the
// environment, where other local users could read it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/error.hpp"

namespace lmig {

inline constexpr size_t kMinPskBytes = 16;
inline constexpr size_t kMaxPskBytes = 4096;

// The file's bytes (a trailing newline dropped, so that `base64` output and
// hand-edited files agree). Refused: not a regular file, readable or
// writable by group or others, owned by another user, shorter than
// kMinPskBytes.
Result<std::vector<uint8_t>> read_psk_file(const std::string &path);

} // namespace lmig
