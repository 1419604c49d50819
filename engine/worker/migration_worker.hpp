// The source's side of a migration runs in a worker process of its own,
// forked by liblmig for each call, which alone does the ptrace work:
// freeze, capture (remote system calls borrow the threads' registers),
// switchover and page serving. Its caller (lmig, or a scheduler embedding
// liblmig) only waits for progress and the result over a socket pair.
//
// So the caller's death never leaves a thread with borrowed registers: the
// worker outlives it, ignores the terminal's signals, finishes the step it
// is in, and then, before the switchover, resumes every process exactly as
// it was (LMIG_ERR_CANCELLED); after it, it goes on until the target has
// every page (the source is stopped meanwhile, see FrozenProcess::arm_stop).
// And the caller's threads, children and wait statuses are left alone: the
// tracer is the worker.
#pragma once

#include <sys/types.h>

#include "engine/base/error.hpp"
#include "engine/source/migration.hpp"

namespace lmig {

Status migrate_in_worker(pid_t pid, const MigrateOptions &opts, lmig_stats &stats);

} // namespace lmig
