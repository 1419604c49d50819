#include "engine/capture/proc_attrs.hpp"

#include <linux/filter.h>
#include <linux/membarrier.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <cstring>

#include "engine/capture/proc_maps.hpp"
#include "engine/ptrace/remote_syscall.hpp"

namespace lmig {
namespace {

constexpr int kCapSysAdmin = 21;

Error unsupported(pid_t pid, const std::string &why) {
  return make_error(LMIG_ERR_UNSUPPORTED, "PID " + std::to_string(pid) + " " + why);
}

Result<int64_t> remote_prctl(RemoteSyscaller &rs, int option, uint64_t arg, const char *what) {
  LMIG_ASSIGN_OR_RETURN(int64_t r, rs.call(SYS_prctl, {static_cast<uint64_t>(option), arg}));
  if (r < 0)
    return make_error(LMIG_ERR_SYSTEM, std::string("remote prctl(") + what + ") failed: " +
                                           std::strerror(static_cast<int>(-r)),
                      static_cast<int>(-r));
  return r;
}

} // namespace

Status precheck_proc_attrs(pid_t pid, const ProcStatus &status) {
  if (status.seccomp == 2 && !status.no_new_privs && !(status.cap_eff & (1ull << kCapSysAdmin)))
    return unsupported(pid, "(" + status.name + ") runs under seccomp filters installed with "
                                                "privileges it has dropped since (no "
                                                "no_new_privs, no CAP_SYS_ADMIN); that is not "
                                                "supported yet");
  return {};
}

Status capture_proc_attrs(pid_t pid, const ProcStatus &status, ProcessImage &im) {
  auto &a = im.attrs;
  a.no_new_privs = status.no_new_privs;
  a.caps = {status.cap_inh, status.cap_prm, status.cap_eff, status.cap_bnd, status.cap_amb};
  const std::string proc = "/proc/" + std::to_string(pid);
  LMIG_ASSIGN_OR_RETURN(std::string pers, read_proc_file(proc + "/personality"));
  a.personality = static_cast<uint32_t>(std::strtoul(pers.c_str(), nullptr, 16));
  LMIG_ASSIGN_OR_RETURN(auto stat, read_stat(pid));
  a.session_leader = stat.session == pid && stat.pgrp == pid;
  // Its cgroups ("ID:controllers:path" lines), for a target that places
  // it again.
  LMIG_ASSIGN_OR_RETURN(std::string groups, read_proc_file(proc + "/cgroup"));
  a.cgroups.clear();
  for (size_t at = 0; at < groups.size();) {
    size_t nl = groups.find('\n', at);
    if (nl == std::string::npos)
      nl = groups.size();
    const std::string line = groups.substr(at, nl - at);
    const size_t c1 = line.find(':'), c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
    if (c2 != std::string::npos)
      a.cgroups.push_back({line.substr(c1 + 1, c2 - c1 - 1), line.substr(c2 + 1)});
    at = nl + 1;
  }
  // The audit login uid, when this kernel keeps one.
  if (auto login = read_proc_file(proc + "/loginuid"); login.ok())
    a.loginuid = static_cast<int64_t>(std::strtoull(login->c_str(), nullptr, 10));
  LMIG_ASSIGN_OR_RETURN(std::string oom, read_proc_file(proc + "/oom_score_adj"));
  a.oom_score_adj = static_cast<int32_t>(std::strtol(oom.c_str(), nullptr, 10));
  // The name exactly (status escapes tabs, newlines and backslashes).
  LMIG_ASSIGN_OR_RETURN(std::string comm, read_proc_file(proc + "/comm"));
  if (!comm.empty() && comm.back() == '\n')
    comm.pop_back();
  im.comm = comm;
  return {};
}

Status capture_proc_attrs_remote(RemoteSyscaller &rs, uint64_t scratch, pid_t tid,
                                 ProcessImage &im) {
  auto &a = im.attrs;
  LMIG_ASSIGN_OR_RETURN(int64_t dumpable, remote_prctl(rs, PR_GET_DUMPABLE, 0, "PR_GET_DUMPABLE"));
  a.dumpable = static_cast<uint32_t>(dumpable);
  LMIG_ASSIGN_OR_RETURN(int64_t bits, remote_prctl(rs, PR_GET_SECUREBITS, 0, "PR_GET_SECUREBITS"));
  a.securebits = static_cast<uint32_t>(bits);
  // These two write an int at scratch.
  int32_t vals[2] = {0, 0};
  LMIG_TRY(remote_prctl(rs, PR_GET_PDEATHSIG, scratch, "PR_GET_PDEATHSIG"));
  LMIG_TRY(remote_prctl(rs, PR_GET_CHILD_SUBREAPER, scratch + 4, "PR_GET_CHILD_SUBREAPER"));
  iovec local{vals, sizeof vals};
  iovec remote{reinterpret_cast<void *>(scratch), sizeof vals};
  if (::process_vm_readv(tid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(sizeof vals))
    return sys_error("read prctl results from the scratch page");
  a.pdeath_signal = vals[0];
  a.child_subreaper = vals[1] != 0;
  LMIG_ASSIGN_OR_RETURN(int64_t thp, remote_prctl(rs, PR_GET_THP_DISABLE, 0, "PR_GET_THP_DISABLE"));
  if (thp & ~int64_t{1})
    return make_error(LMIG_ERR_UNSUPPORTED, "PID " + std::to_string(tid) +
                                                ": transparent huge pages disabled with flags " +
                                                std::to_string(thp) + "; that is not supported yet");
  a.thp_disabled = thp != 0;
  // Registered private expedited membarriers: asking for one (a barrier
  // over the process's own threads, all stopped) succeeds only once it is
  // registered. (A global registration cannot be asked about.)
  static constexpr std::pair<uint64_t, uint32_t> kProbes[] = {
      {MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED},
      {MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
       MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE},
      {MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ}};
  a.membarrier = 0;
  for (const auto &[cmd, reg] : kProbes) {
    LMIG_ASSIGN_OR_RETURN(int64_t r, rs.call(SYS_membarrier, {cmd, 0, 0}));
    if (r == 0)
      a.membarrier |= reg;
  }
  return {};
}

Status capture_seccomp(pid_t tid, int32_t image_tid, ProcessImage &im) {
  LMIG_ASSIGN_OR_RETURN(auto st, read_status(tid));
  if (st.seccomp == 0)
    return {};
  SeccompImage s;
  s.tid = image_tid;
  s.mode = st.seccomp;
  if (s.mode == 2) {
    // Index 0 is the newest filter; the image keeps them oldest first.
    std::vector<SeccompFilterImage> newest_first;
    for (unsigned long i = 0;; i++) {
      long n = ::ptrace(PTRACE_SECCOMP_GET_FILTER, tid, i, nullptr);
      if (n < 0 && errno == ENOENT)
        break;
      if (n < 0)
        return sys_error("PTRACE_SECCOMP_GET_FILTER " + std::to_string(i) + " of thread " +
                         std::to_string(tid));
      if (newest_first.size() >= kMaxSeccompFilters || n == 0 || n > kMaxSeccompInsns)
        return make_error(LMIG_ERR_UNSUPPORTED,
                          "thread " + std::to_string(tid) + ": more than " +
                              std::to_string(kMaxSeccompFilters) +
                              " seccomp filters, or one of an odd size; not supported yet");
      SeccompFilterImage f;
      f.insns.resize(static_cast<size_t>(n));
      static_assert(sizeof(sock_filter) == 8);
      if (::ptrace(PTRACE_SECCOMP_GET_FILTER, tid, i,
                   f.insns.data()) != n)
        return sys_error("PTRACE_SECCOMP_GET_FILTER " + std::to_string(i));
      __ptrace_seccomp_metadata md{i, 0};
      if (::ptrace(PTRACE_SECCOMP_GET_METADATA, tid, sizeof md,
                   &md) >= 0)
        f.flags = static_cast<uint32_t>(md.flags);
      newest_first.push_back(std::move(f));
    }
    s.filters.assign(newest_first.rbegin(), newest_first.rend());
    if (s.filters.empty())
      return make_error(LMIG_ERR_SYSTEM,
                        "thread " + std::to_string(tid) + " is in seccomp filter mode without filters");
  }
  im.seccomp.push_back(std::move(s));
  return {};
}

} // namespace lmig
