#include "engine/capture/thread_capture.hpp"

#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "engine/base/process_memory.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/capture/proc_status.hpp"
#include "engine/ptrace/ptrace_ops.hpp"
#include "engine/ptrace/remote_syscall.hpp"

namespace lmig {
namespace {

// A thread stopped inside an rseq critical section would resume in its
// middle on another CPU: move it to the section's abort handler, as the
// kernel would on preemption.
Status fixup_rseq(pid_t tid, ThreadImage &t) {
  if (!t.rseq_addr)
    return {};
  PageReader mem(tid);
  uint64_t cs_ptr = 0;
  LMIG_TRY(mem.read(t.rseq_addr + 8, &cs_ptr, sizeof cs_ptr));
  if (!cs_ptr)
    return {};
  struct {
    uint32_t version, flags;
    uint64_t start_ip, post_commit_offset, abort_ip;
  } cs{};
  LMIG_TRY(mem.read(cs_ptr, &cs, sizeof cs));
  uint64_t ip = t.regs[kRip];
  if (ip >= cs.start_ip && ip - cs.start_ip < cs.post_commit_offset)
    t.regs[kRip] = cs.abort_ip;
  return {};
}

// The TID the process knows the thread by (innermost PID namespace).
Result<int32_t> inner_tid(pid_t pid, pid_t tid) {
  const std::string task = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid);
  LMIG_ASSIGN_OR_RETURN(std::string text, read_proc_file(task + "/status"));
  LMIG_ASSIGN_OR_RETURN(ProcStatus st, parse_status(text));
  return st.nspid.empty() ? tid : st.nspid.back();
}

Result<std::string> thread_name(pid_t pid, pid_t tid) {
  LMIG_ASSIGN_OR_RETURN(std::string comm, read_proc_file("/proc/" + std::to_string(pid) +
                                                         "/task/" + std::to_string(tid) + "/comm"));
  while (!comm.empty() && comm.back() == '\n')
    comm.pop_back();
  return comm.substr(0, 15);
}

Status robust_list_of(pid_t tid, ThreadImage &t) {
  void *head = nullptr;
  size_t len = 0;
  if (::syscall(SYS_get_robust_list, tid, &head, &len) < 0)
    return sys_error("get_robust_list of thread " + std::to_string(tid));
  t.robust_list = reinterpret_cast<uint64_t>(head);
  t.robust_len = head ? len : 0;
  return {};
}

Error remote_failed(const char *what, pid_t tid, int64_t r) {
  int e = static_cast<int>(-r);
  return make_error(LMIG_ERR_SYSTEM,
                    std::string(what) + " in thread " + std::to_string(tid) + ": " +
                        std::strerror(e),
                    e);
}

} // namespace

// clear_child_tid and sigaltstack: only the thread can say.
Status ask_thread(RemoteSyscaller &rs, pid_t tid, uint64_t scratch, ThreadImage &t) {
  LMIG_ASSIGN_OR_RETURN(int64_t r, rs.call(SYS_prctl, {PR_GET_TID_ADDRESS, scratch}));
  if (r < 0)
    return remote_failed("prctl(PR_GET_TID_ADDRESS)", tid, r);
  LMIG_ASSIGN_OR_RETURN(r, rs.call(SYS_sigaltstack, {0, scratch + 8}));
  if (r < 0)
    return remote_failed("sigaltstack", tid, r);
  PageReader mem(tid);
  struct {
    uint64_t tid_address;
    stack_t ss;
  } out{};
  static_assert(sizeof out == 8 + 24);
  LMIG_TRY(mem.read(scratch, &out, sizeof out));
  t.clear_child_tid = out.tid_address;
  t.altstack_sp = reinterpret_cast<uint64_t>(out.ss.ss_sp);
  t.altstack_size = out.ss.ss_size;
  t.altstack_flags = out.ss.ss_flags;
  return {};
}

namespace {

// A sleep the freeze interrupted returns -ERESTART_RESTARTBLOCK: the kernel
// keeps its deadline in a restart block that does not travel. The kernel
// wrote what was left of it to the caller's rem (when there is one): the
// restored thread sleeps again for that. Without rem it sleeps the whole
// request again: longer than asked, never shorter.
RegsImage settle_sleep(const RegsImage &in) {
  constexpr int64_t kErestartRestartblock = -516;
  RegsImage r = in;
  if (static_cast<int64_t>(r[kRax]) != kErestartRestartblock)
    return ptrace::settle_interrupted_syscall(in, true);
  if (r[kOrigRax] == SYS_nanosleep) {
    if (r[kRsi])
      r[kRdi] = r[kRsi]; // req = rem
  } else if (r[kOrigRax] == SYS_clock_nanosleep) {
    if (r[kR10])
      r[kRdx] = r[kR10];
  } else {
    return ptrace::settle_interrupted_syscall(in, true);
  }
  r[kRax] = r[kOrigRax];
  r[kRip] -= 2;
  r[kOrigRax] = static_cast<uint64_t>(-1);
  return r;
}

} // namespace

namespace {

// The thread's scheduling: policy (with SCHED_RESET_ON_FORK), real-time
// priority, nice. SCHED_DEADLINE (its runtime, deadline and period) is
// refused by name.
Status read_scheduling(pid_t tid, ThreadImage &t) {
  const int policy = ::sched_getscheduler(tid);
  if (policy < 0)
    return sys_error("sched_getscheduler of thread " + std::to_string(tid));
  if ((policy & ~SCHED_RESET_ON_FORK) == SCHED_DEADLINE)
    return make_error(LMIG_ERR_UNSUPPORTED, "thread " + std::to_string(tid) +
                                                " runs under SCHED_DEADLINE; that is not "
                                                "supported yet");
  sched_param param{};
  if (::sched_getparam(tid, &param) < 0)
    return sys_error("sched_getparam of thread " + std::to_string(tid));
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  if (nice == -1 && errno)
    return sys_error("getpriority of thread " + std::to_string(tid));
  t.sched_policy = static_cast<uint32_t>(policy);
  t.sched_priority = static_cast<uint32_t>(param.sched_priority);
  t.nice = nice;
  return {};
}

} // namespace

Result<ThreadImage> read_thread(pid_t pid, pid_t tid) {
  ThreadImage t;
  LMIG_ASSIGN_OR_RETURN(t.tid, inner_tid(pid, tid));
  LMIG_ASSIGN_OR_RETURN(t.comm, thread_name(pid, tid));
  LMIG_ASSIGN_OR_RETURN(RegsImage regs, ptrace::get_regs(tid));
  LMIG_ASSIGN_OR_RETURN(t.sigmask, ptrace::get_sigmask(tid));
  const bool deliverable = (ptrace::pending_signals(tid) & ~t.sigmask) != 0;
  t.regs = ptrace::undo_freeze_eintr(settle_sleep(regs), deliverable);
  LMIG_ASSIGN_OR_RETURN(auto rseq, ptrace::get_rseq(tid));
  t.rseq_addr = rseq.addr;
  t.rseq_len = rseq.len;
  t.rseq_sig = rseq.sig;
  LMIG_TRY(fixup_rseq(tid, t));
  LMIG_ASSIGN_OR_RETURN(t.xsave, ptrace::get_xstate(tid));
  LMIG_TRY(robust_list_of(tid, t));
  LMIG_TRY(read_scheduling(tid, t));
  return t;
}

} // namespace lmig
