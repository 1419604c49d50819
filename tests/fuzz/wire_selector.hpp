// How the wire_messages harness reads its input: the first byte picks the
// message (modulo kCount), the rest is the payload. make_seeds writes its
// seeds the same way.
#pragma once

#include <cstdint>

namespace lmig::fuzz {

enum class WireMessage : uint8_t { hello, error, running, page_request, done, inventory, kCount };

} // namespace lmig::fuzz
