// Addresses for rdma_cm in the operators' HOST:PORT syntax (the same as the
// TCP transport's: "10.0.0.2:7000", "[fe80::1]:7000", "host:7000"). rdma_cm
// maps an IP address to the RDMA device that owns it (RoCE: the netdev's
// address), so the same string names the peer on either transport.
#pragma once

#include <sys/socket.h>

#include <string>

#include "engine/base/error.hpp"
#include "transport/address.hpp"

namespace lmig::rdma {

// For rdma_resolve_addr (connect: port 0 refused) or rdma_bind_addr
// (listen: port 0 asks for any).
Result<ResolvedAddress> cm_address(const std::string &text, bool passive);
Result<ResolvedAddress> cm_address(const Endpoint &ep, bool passive);

// "10.0.0.2:7000", "[fe80::1]:7000": for messages.
std::string address_str(const sockaddr *sa);

} // namespace lmig::rdma
