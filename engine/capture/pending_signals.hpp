// Signals queued to a frozen process: the process-wide queue and each
// thread's own, read with PTRACE_PEEKSIGINFO (they stay queued).
#pragma once

#include <sys/types.h>

#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

// tid must be in a ptrace stop of ours. shared: the process-wide queue
// (PTRACE_PEEKSIGINFO_SHARED), else the thread's own. Oldest first.
Result<std::vector<SiginfoImage>> peek_pending_signals(pid_t tid, bool shared);

} // namespace lmig
