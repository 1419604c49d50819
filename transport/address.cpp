#include "transport/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace lmig {

std::string Endpoint::str() const {
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(const std::string &text) {
  auto bad = [&](const char *why) {
    return make_error(LMIG_ERR_INVALID_ARGUMENT, "address '" + text + "': " + why);
  };
  Endpoint ep;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad("expected [IPV6]:PORT");
    ep.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos)
      return bad("expected HOST:PORT");
    ep.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (ep.host.find(':') != std::string::npos)
      return bad("IPv6 addresses go in brackets: [::1]:PORT");
  }
  if (ep.host.empty())
    return bad("empty host");
  unsigned value = 0;
  auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || value > 65535)
    return bad("port must be a number from 0 to 65535");
  ep.port = static_cast<uint16_t>(value);
  return ep;
}

Result<ResolvedAddress> resolve(const Endpoint &ep, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo *res = nullptr;
  std::string port = std::to_string(ep.port);
  int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0)
    return make_error(LMIG_ERR_CONNECT, "resolve " + ep.str() + ": " + gai_strerror(rc));
  ResolvedAddress out;
  std::memcpy(&out.addr, res->ai_addr, res->ai_addrlen);
  out.len = res->ai_addrlen;
  out.family = res->ai_family;
  ::freeaddrinfo(res);
  return out;
}

bool is_loopback(const Endpoint &ep) {
  auto ra = resolve(ep, false);
  if (!ra.ok())
    return false;
  if (ra->family == AF_INET) {
    const auto *a = reinterpret_cast<const sockaddr_in *>(&ra->addr);
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  if (ra->family == AF_INET6) {
    const auto *a = reinterpret_cast<const sockaddr_in6 *>(&ra->addr);
    if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
      return true;
    return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

} // namespace lmig
