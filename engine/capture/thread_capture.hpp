// Captures one frozen thread: registers (with the syscall it was in settled
// for restart), xsave, signal mask, rseq, name, TID as the process sees it,
// and what only the thread itself can tell (clear_child_tid, sigaltstack),
// asked through remote system calls writing into a scratch page.
#pragma once

#include <sys/types.h>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

class RemoteSyscaller;

// What can be read from outside: tid is one of pid's threads, in a ptrace
// stop that no remote call has moved yet.
Result<ThreadImage> read_thread(pid_t pid, pid_t tid);

// What only the thread can tell, asked through rs (driving that thread);
// scratch: 64 writable bytes in the process.
Status ask_thread(RemoteSyscaller &rs, pid_t tid, uint64_t scratch, ThreadImage &t);

} // namespace lmig
