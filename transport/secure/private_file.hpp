// Reading a secret (a pre-shared key, a private key) from a file that only
// its owner can read: never from the command line or the environment, where
// other local users could read it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/error.hpp"

namespace lmig {

// The file's bytes. Refused, naming `what` and the path: not a regular file
// (symbolic links are not followed), readable or writable by group or
// others, owned by another user, larger than max_bytes.
Result<std::vector<uint8_t>> read_private_file(const std::string &path, const std::string &what,
                                               size_t max_bytes);

} // namespace lmig
