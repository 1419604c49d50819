// The --transport option that lmig and lmigd share: its value, by name.
#pragma once

#include <cstdio>
#include <cstring>

#include "lmig/lmig.h"

// "tcp", "rdma" or "auto"; false (having said why on stderr) otherwise.
inline bool parse_transport(const char *name, lmig_transport &out) {
  if (!std::strcmp(name, "tcp"))
    out = LMIG_TRANSPORT_TCP;
  else if (!std::strcmp(name, "rdma"))
    out = LMIG_TRANSPORT_RDMA;
  else if (!std::strcmp(name, "auto"))
    out = LMIG_TRANSPORT_AUTO;
  else {
    std::fprintf(stderr, "--transport takes tcp, rdma or auto\n");
    return false;
  }
  return true;
}
