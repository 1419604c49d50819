#include "engine/capture/capture.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/base/process_memory.hpp"
#include "engine/capture/fd_capture.hpp"
#include "engine/capture/pending_signals.hpp"
#include "engine/capture/timers.hpp"
#include "engine/capture/page_inventory.hpp"
#include "engine/capture/precheck.hpp"
#include "engine/capture/proc_attrs.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/capture/thread_capture.hpp"
#include "engine/capture/shmem_capture.hpp"
#include "engine/capture/vma_capture.hpp"
#include "engine/ptrace/ptrace_ops.hpp"
#include "engine/ptrace/remote_syscall.hpp"

namespace lmig {
namespace {

// Without CAP_SYS_RESOURCE, prlimit on a process of other credentials is
// refused (EPERM): the limits are then read by the process itself, through
// capture_rlimits_remote.
Status capture_rlimits(pid_t pid, ProcessImage &im) {
  for (uint32_t res = 0; res < RLIM_NLIMITS && res < 16; res++) {
    rlimit rl{};
    if (::prlimit(pid, static_cast<__rlimit_resource>(res), nullptr, &rl) < 0) {
      im.rlimits.clear();
      if (errno == EPERM)
        return {};
      return sys_error("prlimit " + std::to_string(res));
    }
    im.rlimits.push_back({res, rl.rlim_cur, rl.rlim_max});
  }
  return {};
}

Status capture_rlimits_remote(RemoteSyscaller &rs, uint64_t scratch, pid_t tid,
                              ProcessImage &im) {
  uint64_t lims[16][2] = {};
  const uint32_t n = std::min<uint32_t>(RLIM_NLIMITS, 16);
  for (uint32_t res = 0; res < n; res++) {
    LMIG_ASSIGN_OR_RETURN(int64_t r, rs.call(SYS_prlimit64, {0, res, 0, scratch + res * 16}));
    if (r < 0)
      return make_error(LMIG_ERR_SYSTEM, "remote prlimit " + std::to_string(res) + ": " +
                                             std::strerror(static_cast<int>(-r)),
                        static_cast<int>(-r));
  }
  iovec local{lims, n * 16};
  iovec remote{reinterpret_cast<void *>(scratch), n * 16};
  if (::process_vm_readv(tid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(n * 16))
    return sys_error("read rlimits from the scratch page");
  for (uint32_t res = 0; res < n; res++)
    im.rlimits.push_back({res, lims[res][0], lims[res][1]});
  return {};
}

Status capture_mm(pid_t pid, ProcessImage &im) {
  LMIG_ASSIGN_OR_RETURN(auto stat, read_stat(pid));
  auto &m = im.mm;
  m.start_code = stat.start_code;
  m.end_code = stat.end_code;
  m.start_data = stat.start_data;
  m.end_data = stat.end_data;
  m.start_brk = stat.start_brk;
  m.start_stack = stat.start_stack;
  m.arg_start = stat.arg_start;
  m.arg_end = stat.arg_end;
  m.env_start = stat.env_start;
  m.env_end = stat.env_end;
  const std::string proc = "/proc/" + std::to_string(pid);
  LMIG_ASSIGN_OR_RETURN(std::string auxv, read_proc_file(proc + "/auxv"));
  if (auxv.size() % 8 || auxv.size() > 128 * 8)
    return make_error(LMIG_ERR_SYSTEM, "auxv of " + std::to_string(auxv.size()) + " bytes");
  m.auxv.resize(auxv.size() / 8);
  std::memcpy(m.auxv.data(), auxv.data(), auxv.size());
  LMIG_ASSIGN_OR_RETURN(m.exe_path, read_link(proc + "/exe"));
  return {};
}

// What only the process itself can tell: sigactions and brk, and of each
// thread its clear_child_tid and sigaltstack, asked through remote system
// calls that write into a scratch page mapped for the purpose.
Status capture_by_remote_syscalls(FrozenProcess &frozen, ProcessImage &im) {
  const pid_t pid = frozen.pid();
  LMIG_ASSIGN_OR_RETURN(uint64_t insn, find_syscall_instruction(pid));
  LMIG_ASSIGN_OR_RETURN(auto rs, RemoteSyscaller::attach(pid, insn));
  LMIG_ASSIGN_OR_RETURN(uint64_t locked_before, locked_kib(pid));
  LMIG_ASSIGN_OR_RETURN(int64_t scratch,
                        rs.call(SYS_mmap, {0, 4096, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, static_cast<uint64_t>(-1), 0}));
  if (scratch < 0 && scratch > -4096)
    return make_error(LMIG_ERR_SYSTEM, "remote mmap of a scratch page: " + std::string(std::strerror(static_cast<int>(-scratch))),
                      static_cast<int>(-scratch));
  auto scratch_addr = static_cast<uint64_t>(scratch);
  Status st;
  if (auto fl = future_lock_flags(pid, scratch_addr, locked_before); fl.ok())
    im.mlockall_flags = *fl;
  else
    st = std::move(fl).error();
  for (int sig = 1; sig <= 64 && st.ok(); sig++) {
    auto r = rs.call(SYS_rt_sigaction, {static_cast<uint64_t>(sig), 0,
                                        scratch_addr + static_cast<uint64_t>(sig - 1) * 32, 8});
    if (!r.ok())
      st = std::move(r).error();
    else if (*r < 0)
      st = make_error(LMIG_ERR_SYSTEM, "remote rt_sigaction(" + std::to_string(sig) + ") failed",
                      static_cast<int>(-*r));
  }
  // The scratch page: sigactions in its first half, then prctl results,
  // then rlimits.
  if (st.ok())
    st = capture_proc_attrs_remote(rs, scratch_addr + 2048, pid, im);
  if (st.ok() && im.rlimits.empty())
    st = capture_rlimits_remote(rs, scratch_addr + 2048 + 64, pid, im);
  if (st.ok()) {
    auto brk = rs.call(SYS_brk, {0});
    if (!brk.ok())
      st = std::move(brk).error();
    else
      im.mm.brk = static_cast<uint64_t>(*brk);
  }
  if (st.ok()) {
    // Timers name the thread they signal by our TID; the image by its own.
    std::map<pid_t, pid_t> inner_tid;
    for (size_t i = 0; i < frozen.tids().size() && i < im.threads.size(); i++)
      inner_tid[frozen.tids()[i]] = im.threads[i].tid;
    st = capture_timers(rs, scratch_addr + sizeof im.sigactions, pid, inner_tid, im.timers);
  }
  if (st.ok()) {
    iovec local{im.sigactions.data(), sizeof im.sigactions};
    iovec remote{reinterpret_cast<void *>(scratch_addr), sizeof im.sigactions};
    static_assert(sizeof im.sigactions == 64 * 32);
    if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(local.iov_len))
      st = sys_error("read sigactions from the scratch page");
  }
  // Each thread, through the syscaller that already drives the leader or
  // one of its own.
  for (size_t i = 0; i < im.threads.size() && st.ok(); i++) {
    pid_t tid = frozen.tids()[i];
    if (tid == pid) {
      st = ask_thread(rs, tid, scratch_addr, im.threads[i]);
      continue;
    }
    auto trs = RemoteSyscaller::attach(tid, insn);
    if (!trs.ok()) {
      st = std::move(trs).error();
      break;
    }
    st = ask_thread(*trs, tid, scratch_addr, im.threads[i]);
    auto fin = trs->finish();
    if (st.ok())
      st = std::move(fin);
  }
  auto un = rs.call(SYS_munmap, {scratch_addr, 4096});
  auto fin = rs.finish();
  LMIG_TRY(st);
  LMIG_TRY(un);
  LMIG_TRY(fin);
  return {};
}

// True when two reads of the layout describe the same VMAs.
bool same_layout(const std::vector<MapsEntry> &a, const std::vector<MapsEntry> &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); i++) {
    const auto &x = a[i], &y = b[i];
    if (x.start != y.start || x.end != y.end || x.prot() != y.prot() || x.shared != y.shared ||
        x.pgoff != y.pgoff || x.inode != y.inode || x.path != y.path || x.deleted != y.deleted)
      return false;
  }
  return true;
}

} // namespace

Result<ProcessImage> capture_process(FrozenProcess &frozen,
                                     const std::vector<MapsEntry> &smaps_before,
                                     bool anon_inventory,
                                     const std::map<int, int32_t> *shared_slots,
                                     const SharedInodes *shared_contents) {
  const pid_t pid = frozen.pid();
  ProcessImage im;
  im.pid = pid;
  // The process is frozen now, but may have changed since the precheck.
  LMIG_ASSIGN_OR_RETURN(auto status, check_identity(pid, true));
  // The PID the process sees itself as (innermost namespace) is the one it
  // keeps; /proc and ptrace use ours.
  if (!status.nspid.empty())
    im.pid = status.nspid.back();
  im.comm = status.name;
  im.umask = status.umask;
  im.creds.uid = status.uid;
  im.creds.gid = status.gid;
  im.creds.groups = status.groups;
  LMIG_ASSIGN_OR_RETURN(im.cwd, read_link("/proc/" + std::to_string(pid) + "/cwd"));
  if (im.cwd.ends_with(" (deleted)")) {
    im.cwd.resize(im.cwd.size() - 10);
    im.cwd_deleted = true;
  }
  LMIG_TRY(precheck_proc_attrs(pid, status));
  LMIG_TRY(capture_proc_attrs(pid, status, im));

  LMIG_ASSIGN_OR_RETURN(auto maps, read_maps(pid));
  if (same_layout(maps, smaps_before)) {
    maps = smaps_before; // with the VmFlags that maps does not show
  } else {
    LMIG_ASSIGN_OR_RETURN(maps, read_smaps(pid));
  }
  LMIG_ASSIGN_OR_RETURN(im.vmas, capture_vmas(maps));
  LMIG_ASSIGN_OR_RETURN(auto fdt, capture_fds(pid, true, shared_slots));
  LMIG_ASSIGN_OR_RETURN(im.shmem_maps,
                        capture_shmem(pid, maps, im.vmas, fdt, true, shared_contents));
  std::move(fdt).move_into(im);
  LMIG_TRY(capture_rlimits(pid, im));
  LMIG_TRY(capture_mm(pid, im));
  for (pid_t tid : frozen.tids()) {
    auto t = read_thread(pid, tid);
    if (!t.ok())
      return std::move(t).error().context("thread " + std::to_string(tid));
    // The ptrace XSAVE dump keeps XCR0 at offset 464 (software-reserved).
    if (t->xsave.size() >= 472 && im.xfeatures == 0)
      std::memcpy(&im.xfeatures, t->xsave.data() + 464, 8);
    LMIG_TRY(capture_seccomp(tid, t->tid, im));
    LMIG_ASSIGN_OR_RETURN(t->pending, peek_pending_signals(tid, false));
    im.threads.push_back(std::move(*t));
  }
  LMIG_ASSIGN_OR_RETURN(im.shared_pending, peek_pending_signals(pid, true));
  LMIG_TRY(capture_by_remote_syscalls(frozen, im));
  mark_pending_timer_signals(im);
  if (anon_inventory) {
    LMIG_ASSIGN_OR_RETURN(im.pages, page_inventory(pid, im.vmas, &im.guards));
  } else {
    // The anonymous pages are listed by the page server after the
    // switchover; guard pages, which the restore must install, now (only
    // where the kernel says there may be some).
    std::vector<VmaImage> file_private, guarded;
    for (const auto &v : im.vmas) {
      if (v.kind == VmaKind::file_private)
        file_private.push_back(v);
      else if (v.kind == VmaKind::anon && (v.vm_flags & kVmaMaybeGuards))
        guarded.push_back(v);
    }
    LMIG_ASSIGN_OR_RETURN(im.pages, page_inventory(pid, file_private, &im.guards));
    LMIG_TRY(page_inventory(pid, guarded, &im.guards));
    std::sort(im.guards.begin(), im.guards.end(),
              [](const PageRun &a, const PageRun &b) { return a.addr < b.addr; });
  }
  return im;
}

} // namespace lmig
