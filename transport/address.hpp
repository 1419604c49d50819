// "HOST:PORT" and "[V6]:PORT" as operators type them.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "engine/base/error.hpp"

namespace lmig {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string str() const;
};

Result<Endpoint> parse_endpoint(const std::string &text);

// Resolves to a socket address (numeric or by name, IPv4 or IPv6).
struct ResolvedAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0;
};
Result<ResolvedAddress> resolve(const Endpoint &ep, bool passive);

// Whether the endpoint is on this host's loopback (127.0.0.0/8, ::1, or a
// name resolving there), where no one but this host's users can reach it.
bool is_loopback(const Endpoint &ep);

} // namespace lmig
