#include "transport/rdma/rdma_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace lmig::rdma {

Result<ResolvedAddress> cm_address(const Endpoint &ep, bool passive) {
  if (!passive && ep.port == 0)
    return make_error(LMIG_ERR_INVALID_ARGUMENT,
                      "address '" + ep.str() + "': a peer's port cannot be 0");
  LMIG_ASSIGN_OR_RETURN(ResolvedAddress ra, resolve(ep, passive));
  if (ra.family != AF_INET && ra.family != AF_INET6)
    return make_error(LMIG_ERR_INVALID_ARGUMENT,
                      "address '" + ep.str() + "': RDMA needs an IPv4 or IPv6 address");
  return ra;
}

Result<ResolvedAddress> cm_address(const std::string &text, bool passive) {
  LMIG_ASSIGN_OR_RETURN(Endpoint ep, parse_endpoint(text));
  return cm_address(ep, passive);
}

std::string address_str(const sockaddr *sa) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (!sa)
    return "?";
  if (sa->sa_family == AF_INET) {
    auto *in = reinterpret_cast<const sockaddr_in *>(sa);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    auto *in6 = reinterpret_cast<const sockaddr_in6 *>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "?";
}

} // namespace lmig::rdma
