// Process attributes beyond memory and files: personality, prctl flags,
// capabilities, session, seccomp. What they are (ProcAttrsImage,
// SeccompImage) and what lmig cannot move yet (refused before the freeze).
#pragma once

#include <sys/types.h>

#include "engine/base/error.hpp"
#include "engine/capture/proc_status.hpp"
#include "engine/image/image.hpp"

namespace lmig {

class RemoteSyscaller;

// Before the freeze: refuses by name what lmig cannot restore faithfully (a
// session or process group led by another process; seccomp filters a
// process could only install with privileges it has since dropped).
Status precheck_proc_attrs(pid_t pid, const ProcStatus &status);

// From /proc (frozen process): capabilities, no_new_privs, personality,
// whether it leads its session.
Status capture_proc_attrs(pid_t pid, const ProcStatus &status, ProcessImage &im);

// What only the process can tell (prctl getters), asked through remote
// system calls; scratch is a writable page in the task.
Status capture_proc_attrs_remote(RemoteSyscaller &rs, uint64_t scratch, pid_t tid,
                                 ProcessImage &im);

// The seccomp mode and filters of one frozen thread (PTRACE_SECCOMP_GET_FILTER).
Status capture_seccomp(pid_t tid, int32_t image_tid, ProcessImage &im);

} // namespace lmig
