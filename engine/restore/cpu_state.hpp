// What this CPU and kernel offer for register state: the XSAVE features
// enabled in XCR0 and the size of their save area. Compared across hosts in
// the handshake so a process is never restored onto a CPU that lacks
// state it was using; host_hello() is what either side says about itself.
#pragma once

#include <cstdint>

#include "transport/wire.hpp"

namespace lmig {

struct CpuState {
  uint64_t xcr0 = 0;
  uint32_t xsave_size = 0;
};

CpuState local_cpu_state();

// A hello carrying this host's facts (features, XSAVE state, kernel, name);
// the caller adds mode, session, role and token.
wire::Hello host_hello();

} // namespace lmig
