#include "engine/restore/restore_plan.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <utility>

#include "engine/capture/proc_maps.hpp"
#include "engine/capture/proc_status.hpp"
#include "engine/restore/fd_plan.hpp"
#include "engine/restore/restorer_blob.hpp"
#include "engine/restore/timers_restore.hpp"
#include "restorer/restorer_args.h"

namespace lmig {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kTaskSize = 0x7ffffffff000ull;
constexpr uint64_t kStackSize = 64 * 1024;
constexpr uint64_t kGuard = 2ull << 20; // keep clear of stack guard gaps

uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }
uint64_t align64(uint64_t v) { return (v + 63) & ~63ull; }

Error target_failed(const std::string &what, int err = 0) {
  return make_error(LMIG_ERR_TARGET_FAILED, what + (err ? std::string(": ") + std::strerror(err) : ""),
                    err);
}

// This host must have what the image refers to, unchanged.
Status preflight(const ProcessImage &im) {
  for (const auto &v : im.vmas) {
    if (v.kind != VmaKind::file_private && v.kind != VmaKind::file_shared)
      continue;
    struct stat st {};
    if (::stat(v.path.c_str(), &st) < 0)
      return target_failed("mapped file " + v.path + " cannot be used", errno);
    if (!S_ISREG(st.st_mode))
      return target_failed("mapped file " + v.path + " is not a regular file here");
    if (static_cast<uint64_t>(st.st_size) != v.file_size)
      return target_failed("mapped file " + v.path + " differs here: " +
                           std::to_string(st.st_size) + " bytes, the source had " +
                           std::to_string(v.file_size));
  }
  // The restorer can only hand the process capabilities lmigd holds.
  LMIG_ASSIGN_OR_RETURN(auto self, read_status(::getpid()));
  const CapsImage &caps = im.attrs.caps;
  uint64_t missing = caps.permitted & ~self.cap_prm;
  if (missing) {
    char hex[32];
    snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(missing));
    return target_failed(std::string("the process holds capabilities lmigd does not have here (") +
                         hex + ")");
  }
  struct stat st {};
  if (!im.mm.exe_path.empty() && ::stat(im.mm.exe_path.c_str(), &st) < 0)
    return target_failed("executable " + im.mm.exe_path + " cannot be used", errno);
  // A working directory that was removed is made again and removed once
  // the process is in it: only its parent must be there.
  const std::string cwd = im.cwd_deleted ? im.cwd.substr(0, std::max<size_t>(1, im.cwd.rfind('/')))
                                         : im.cwd;
  if (::stat(cwd.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
    return target_failed(std::string(im.cwd_deleted ? "the directory that held the removed "
                                                      "working directory "
                                                    : "working directory ") +
                             cwd + " cannot be used",
                         errno);
  return {};
}

struct Range {
  uint64_t start, end;
};

// The highest capability this kernel knows.
Result<uint32_t> cap_last_here() {
  LMIG_ASSIGN_OR_RETURN(std::string text, read_proc_file("/proc/sys/kernel/cap_last_cap"));
  long v = std::strtol(text.c_str(), nullptr, 10);
  if (v <= 0 || v > 63)
    return target_failed("/proc/sys/kernel/cap_last_cap reads " + text);
  return static_cast<uint32_t>(v);
}

// A hole of `len` bytes clear of both the saved layout and ours (the restore
// child starts as a copy of this process).
Result<uint64_t> find_hole(const ProcessImage &im, const std::vector<MapsEntry> &local,
                           uint64_t len) {
  std::vector<Range> used;
  for (const auto &v : im.vmas) {
    if (v.kind == VmaKind::vsyscall)
      continue;
    uint64_t s = v.start;
    if (v.vm_flags & kVmaGrowsDown)
      s = s > kGuard * 4 ? s - kGuard * 4 : 0;
    used.push_back({s > kGuard ? s - kGuard : 0, v.end + kGuard});
  }
  for (const auto &m : local)
    if (m.end <= kTaskSize)
      used.push_back({m.start > kGuard ? m.start - kGuard : 0, m.end + kGuard});
  std::sort(used.begin(), used.end(), [](const Range &a, const Range &b) { return a.start < b.start; });
  uint64_t cursor = 0x10000000; // above the low area where static binaries live
  for (const auto &r : used) {
    if (r.start > cursor && r.start - cursor >= len)
      return cursor;
    cursor = std::max(cursor, r.end);
  }
  if (kTaskSize - kGuard > cursor && kTaskSize - kGuard - cursor >= len)
    return cursor;
  return make_error(LMIG_ERR_TARGET_FAILED, "no hole in the address space for the restorer");
}

VmaKind special_kind(const std::string &path, bool &is_special) {
  is_special = true;
  if (path == "[vdso]")
    return VmaKind::vdso;
  if (path == "[vvar]")
    return VmaKind::vvar;
  if (path == "[vvar_vclock]")
    return VmaKind::vvar_vclock;
  is_special = false;
  return VmaKind::anon;
}

const char *kind_name(VmaKind k) {
  switch (k) {
  case VmaKind::vdso: return "[vdso]";
  case VmaKind::vvar: return "[vvar]";
  case VmaKind::vvar_vclock: return "[vvar_vclock]";
  default: return "?";
  }
}

// Appends bytes to the args block; returns their offset.
class ArgsBuilder {
public:
  explicit ArgsBuilder(size_t header) : buf_(header, 0) {}
  uint32_t add(const void *p, size_t n, size_t align = 8) {
    size_t at = (buf_.size() + align - 1) & ~(align - 1);
    buf_.resize(at + n);
    if (p)
      std::memcpy(buf_.data() + at, p, n);
    return static_cast<uint32_t>(at);
  }
  uint32_t add_str(const std::string &s) { return add(s.c_str(), s.size() + 1, 1); }
  std::vector<uint8_t> &bytes() { return buf_; }

private:
  std::vector<uint8_t> buf_;
};

constexpr uint64_t kHuge = 2ull << 20;

uint32_t vma_advice_flags(uint32_t vm_flags) {
  static constexpr std::pair<uint32_t, uint32_t> kMap[] = {
      {kVmaHugePage, LMIG_VMA_HUGEPAGE},     {kVmaNoHugePage, LMIG_VMA_NOHUGEPAGE},
      {kVmaDontFork, LMIG_VMA_DONTFORK},     {kVmaWipeOnFork, LMIG_VMA_WIPEONFORK},
      {kVmaDontDump, LMIG_VMA_DONTDUMP},     {kVmaLocked, LMIG_VMA_LOCKED},
      {kVmaLockOnFault, LMIG_VMA_LOCKONFAULT}, {kVmaSeqRead, LMIG_VMA_SEQREAD},
      {kVmaRandRead, LMIG_VMA_RANDREAD}};
  uint32_t out = 0;
  for (const auto &[from, to] : kMap)
    if (vm_flags & from)
      out |= to;
  return out;
}

bool has_pages_in(const std::vector<PageRun> &pages, uint64_t start, uint64_t end) {
  auto it = std::lower_bound(pages.begin(), pages.end(), start,
                             [](const PageRun &r, uint64_t a) { return r.addr + r.npages * kPage <= a; });
  return it != pages.end() && it->addr < end;
}

} // namespace

Result<RestorePlan> plan_restore(const ProcessImage &im, bool postcopy, bool uffd_available,
                                 uint64_t uffd_features) {
  if (postcopy && !uffd_available)
    return make_error(LMIG_ERR_INCOMPATIBLE, "post-copy needs userfaultfd, which this kernel "
                                             "does not offer");
  LMIG_TRY(preflight(im));
  RestorePlan plan;
  plan.vpid = im.pid;
  plan.postcopy = postcopy;
  plan.cwd = im.cwd;
  plan.cwd_deleted = im.cwd_deleted;
  plan.comm = im.comm.substr(0, 15);
  for (const auto &t : im.threads)
    plan.sched.push_back({t.tid, t.sched_policy, t.sched_priority, t.nice});
  plan.oom_score_adj = im.attrs.oom_score_adj;
  for (const auto &f : im.files) {
    if ((f.owner == 0 && f.signal == 0) || f.shared_slot >= 0)
      continue;
    for (const auto &d : im.fds)
      if (d.file_id == f.id) {
        plan.fd_owners.push_back({d.fd, f.owner_type, f.owner, f.signal});
        break;
      }
  }
  plan.umask = im.umask;
  plan.setsid = im.attrs.session_leader;
  plan.no_new_privs = im.attrs.no_new_privs;
  plan.child_subreaper = im.attrs.child_subreaper;
  LMIG_ASSIGN_OR_RETURN(uint32_t cap_last, cap_last_here());

  // --- fds: one FilePlan per open file description, what several share made once
  LMIG_TRY(plan_fds(im, plan));

  // --- the kernel's special mappings: ours move to where the source had them
  LMIG_ASSIGN_OR_RETURN(auto local, read_maps(::getpid()));
  std::vector<lmig_rst_special> specials;
  std::vector<VmaKind> local_kinds;
  for (const auto &m : local) {
    bool special = false;
    VmaKind k = special_kind(m.path, special);
    if (!special)
      continue;
    lmig_rst_special s{};
    s.cur_start = m.start;
    s.len = m.end - m.start;
    for (const auto &v : im.vmas)
      if (v.kind == k) {
        if (v.end - v.start != s.len)
          return make_error(LMIG_ERR_INCOMPATIBLE,
                            std::string(kind_name(k)) + " is " + std::to_string(s.len) +
                                " bytes here but " + std::to_string(v.end - v.start) +
                                " on the source: the kernels differ");
        s.saved_start = v.start;
      }
    specials.push_back(s);
    local_kinds.push_back(k);
  }
  for (const auto &v : im.vmas)
    if ((v.kind == VmaKind::vdso || v.kind == VmaKind::vvar || v.kind == VmaKind::vvar_vclock) &&
        std::find(local_kinds.begin(), local_kinds.end(), v.kind) == local_kinds.end())
      return make_error(LMIG_ERR_INCOMPATIBLE, std::string("the source has ") + kind_name(v.kind) +
                                                   " but this kernel does not");
  if (specials.size() > LMIG_SPECIAL_MAX)
    return make_error(LMIG_ERR_INCOMPATIBLE, "too many special mappings on this kernel");

  // --- the args block
  ArgsBuilder ab(sizeof(lmig_rst_args));
  std::vector<lmig_rst_vma> vmas;
  struct MapFdOf {
    size_t vma;      // restorer VMA
    int contents;    // contents plan
    bool read_only;
  };
  std::vector<MapFdOf> map_fd_of;
  size_t shmem_k = 0;
  for (const auto &v : im.vmas) {
    if (v.kind != VmaKind::anon && v.kind != VmaKind::file_private &&
        v.kind != VmaKind::file_shared && v.kind != VmaKind::shmem)
      continue;
    lmig_rst_vma r{};
    r.start = v.start;
    r.end = v.end;
    r.pgoff = v.pgoff;
    r.prot = v.prot;
    r.map_fd = -1;
    if (v.kind == VmaKind::anon)
      r.flags |= LMIG_VMA_ANON;
    if (v.kind == VmaKind::file_shared || v.kind == VmaKind::shmem)
      r.flags |= LMIG_VMA_SHARED;
    if (v.vm_flags & kVmaGrowsDown)
      r.flags |= LMIG_VMA_GROWSDOWN;
    if (v.vm_flags & kVmaNoReserve)
      r.flags |= LMIG_VMA_NORESERVE;
    r.flags |= vma_advice_flags(v.vm_flags);
    if (v.kind == VmaKind::shmem) {
      // Its bytes are in its inode, made by the restore child from the
      // image (in both modes, before the switchover); the restorer maps it.
      const ShmemMapImage &m = im.shmem_maps.at(shmem_k++);
      int ci = -1;
      for (size_t c = 0; c < plan.contents.size(); c++)
        if (plan.contents[c].image->id == m.contents_id)
          ci = static_cast<int>(c);
      if (ci < 0)
        return make_error(LMIG_ERR_IMAGE, "image: a shmem mapping names unknown contents");
      auto &cp = plan.contents[static_cast<size_t>(ci)];
      cp.mapped = true;
      cp.anon_shmem = m.anon;
      // A mapping of a read-only open could never be made writable (no
      // VM_MAYWRITE): it is made from a read-only open again.
      const bool read_only = !(v.vm_flags & kVmaMayWrite);
      cp.mapped_ro |= read_only;
      cp.mapped_rw |= !read_only;
      r.flags |= LMIG_VMA_MAPFD;
      map_fd_of.push_back({vmas.size(), ci, read_only});
      vmas.push_back(r);
      plan.vma_index.push_back(static_cast<size_t>(&v - im.vmas.data()));
      continue;
    }
    // A huge-page VMA keeps its huge pages: in stop-copy it is written
    // directly, so that the first write to each 2 MiB makes a huge page as
    // on the source; in post-copy userfaultfd installs small pages, which
    // are collapsed once all are in.
    const bool huge = v.kind == VmaKind::anon && (v.vm_flags & kVmaHugePage);
    if (huge && postcopy)
      for (uint64_t h = (v.start + kHuge - 1) & ~(kHuge - 1); h + kHuge <= v.end; h += kHuge)
        plan.huge_ranges.push_back({h, h + kHuge});
    // Post-copy: anonymous memory is inventoried after the switchover, so
    // every anonymous VMA is lazy. Stop-copy: those with pages.
    bool pages = has_pages_in(im.pages, v.start, v.end);
    if (pages || (postcopy && v.kind == VmaKind::anon)) {
      if (uffd_available && v.kind == VmaKind::anon && !(huge && !postcopy)) {
        r.flags |= LMIG_VMA_LAZY;
        plan.uffd_ranges.push_back({v.start, v.end});
      } else {
        r.flags |= LMIG_VMA_FILL;
      }
    }
    if (v.kind != VmaKind::anon) {
      r.path_off = ab.add_str(v.path);
      r.open_flags = (v.kind == VmaKind::file_shared && (v.vm_flags & kVmaMayWrite)) ? O_RDWR
                                                                                      : O_RDONLY;
    }
    vmas.push_back(r);
    plan.vma_index.push_back(static_cast<size_t>(&v - im.vmas.data()));
  }
  uint32_t vmas_off = ab.add(vmas.data(), vmas.size() * sizeof(lmig_rst_vma));
  for (const auto &m : map_fd_of)
    plan.map_fds.push_back({static_cast<uint32_t>(vmas_off + m.vma * sizeof(lmig_rst_vma) +
                                                  offsetof(lmig_rst_vma, map_fd)),
                            m.contents, m.read_only});
  uint32_t auxv_off = ab.add(im.mm.auxv.data(), im.mm.auxv.size() * 8);
  uint32_t exe_off = im.mm.exe_path.empty() ? 0 : ab.add_str(im.mm.exe_path);
  if (im.threads.size() > LMIG_RST_MAX_THREADS)
    return make_error(LMIG_ERR_UNSUPPORTED, std::to_string(im.threads.size()) +
                                                " threads; lmigd restores at most " +
                                                std::to_string(LMIG_RST_MAX_THREADS));
  plan.timers = plan_timers(im);
  // A timer that signals another thread is made once that thread exists,
  // after timers with higher ids: only with ids the kernel lets us choose.
  for (const auto &p : plan.timers.posix)
    if (p.on_thread && ::prctl(77 /* PR_TIMER_CREATE_RESTORE_IDS */, 0, 0, 0, 0) != 0)
      return make_error(LMIG_ERR_INCOMPATIBLE,
                        "POSIX timer " + std::to_string(p.id) + " signals thread " +
                            std::to_string(p.tid) +
                            ": this kernel cannot make a timer with a given id "
                            "(PR_TIMER_CREATE_RESTORE_IDS), so it cannot be made again here");
  auto shared_sigs = plan_signal_queue(im.shared_pending, plan.timers);
  uint32_t shared_sigs_off = ab.add(shared_sigs.data(), shared_sigs.size() * sizeof(lmig_rst_siginfo));
  std::vector<lmig_rst_range> guards;
  for (const auto &g : im.guards)
    guards.push_back({g.addr, g.npages * 4096});
  uint32_t guards_off = ab.add(guards.data(), guards.size() * sizeof(lmig_rst_range));
  std::vector<lmig_rst_thread> threads;
  uint32_t thread_timers = 0;
  for (const ThreadImage &t : im.threads) {
    lmig_rst_thread rt{};
    std::memcpy(&rt.regs, t.regs.data(), sizeof rt.regs);
    rt.sigmask = t.sigmask;
    rt.altstack_sp = t.altstack_sp;
    rt.altstack_size = t.altstack_size;
    // The frame's uc_stack says where the stack is, not whether the thread
    // runs on it now.
    rt.altstack_flags = t.altstack_flags & ~SS_ONSTACK;
    rt.xsave_size = static_cast<uint32_t>(t.xsave.size());
    rt.xsave_off = ab.add(t.xsave.data(), t.xsave.size(), 64);
    rt.frame_len = static_cast<uint32_t>(align64(t.xsave.size()) + 1024);
    rt.frame_off = ab.add(nullptr, rt.frame_len, 64);
    rt.rseq_addr = t.rseq_addr;
    rt.rseq_len = t.rseq_len;
    rt.rseq_sig = t.rseq_sig;
    rt.tid = t.tid;
    rt.clear_child_tid = t.clear_child_tid;
    rt.robust_list = t.robust_list;
    rt.robust_len = t.robust_len;
    std::memcpy(rt.comm, t.comm.data(), std::min<size_t>(t.comm.size(), 15));
    // Its seccomp filters, oldest first.
    std::vector<lmig_rst_seccomp_filter> filters;
    for (const auto &sc : im.seccomp) {
      if (sc.tid != t.tid)
        continue;
      rt.seccomp_mode = sc.mode;
      for (const auto &f : sc.filters)
        filters.push_back({f.flags, static_cast<uint32_t>(f.insns.size()),
                           ab.add(f.insns.data(), f.insns.size() * 8), 0});
    }
    rt.nr_seccomp_filters = static_cast<uint32_t>(filters.size());
    rt.seccomp_off = ab.add(filters.data(), filters.size() * sizeof(lmig_rst_seccomp_filter));
    auto thread_sigs = plan_signal_queue(t.pending, plan.timers);
    rt.nr_pending = static_cast<uint32_t>(thread_sigs.size());
    rt.pending_off = ab.add(thread_sigs.data(), thread_sigs.size() * sizeof(lmig_rst_siginfo));
    // The POSIX timers that signal it (not the main thread's: the restore
    // child, which is the main thread, makes those).
    std::vector<lmig_rst_timer> timers;
    for (const auto &p : plan.timers.posix)
      if (p.on_thread && p.tid == t.tid)
        timers.push_back({p.id, p.clockid, p.notify, p.signo, p.sigval, p.deadline_ns,
                          p.interval_ns, p.armed_by_restorer ? 1u : 0u, 0});
    thread_timers += static_cast<uint32_t>(timers.size());
    rt.nr_timers = static_cast<uint32_t>(timers.size());
    rt.timers_off = ab.add(timers.data(), timers.size() * sizeof(lmig_rst_timer));
    threads.push_back(rt);
  }
  threads[0].pdeath_signal = im.attrs.pdeath_signal; // the main thread's
  uint32_t groups_off = ab.add(im.creds.groups.data(), im.creds.groups.size() * 4);
  uint32_t threads_off = ab.add(nullptr, threads.size() * sizeof(lmig_rst_thread), 64);

  std::vector<uint8_t> args = std::move(ab.bytes());
  lmig_rst_args a{};
  a.magic = LMIG_RST_MAGIC;
  a.thread_timers = thread_timers;
  a.task_size = kTaskSize;
  a.ctl_fd = plan.ctl_fd;
  a.flags = plan.uffd_ranges.empty() ? 0 : LMIG_RST_UFFD;
  a.uffd_features = postcopy ? uffd_features : 0;
  a.nr_vmas = static_cast<uint32_t>(vmas.size());
  a.vmas_off = vmas_off;
  a.nr_special = static_cast<uint32_t>(specials.size());
  for (int sig = 1; sig <= 64; sig++) {
    const auto &s = im.sigactions[static_cast<size_t>(sig - 1)];
    a.sigactions[sig - 1] = {s.handler, s.flags, s.restorer, s.mask};
    if (sig != 9 && sig != 19)
      a.sigaction_valid |= 1ull << (sig - 1);
  }
  a.nr_rlimits = static_cast<uint32_t>(std::min<size_t>(im.rlimits.size(), 16));
  for (uint32_t i = 0; i < a.nr_rlimits; i++)
    a.rlimits[i] = {im.rlimits[i].resource, 0, im.rlimits[i].cur, im.rlimits[i].max};
  const auto &m = im.mm;
  a.mm = {m.start_code, m.end_code, m.start_data, m.end_data, m.start_brk, m.brk, m.start_stack,
          m.arg_start,  m.arg_end,  m.env_start,  m.env_end,  auxv_off,
          static_cast<uint32_t>(m.auxv.size() * 8), exe_off, 0};
  a.nr_threads = static_cast<uint32_t>(threads.size());
  a.threads_off = threads_off;
  for (int i = 0; i < 4; i++) {
    a.creds.uid[i] = im.creds.uid[static_cast<size_t>(i)];
    a.creds.gid[i] = im.creds.gid[static_cast<size_t>(i)];
  }
  a.creds.ngroups = static_cast<uint32_t>(im.creds.groups.size());
  a.creds.groups_off = groups_off;
  const CapsImage &caps = im.attrs.caps;
  a.creds.cap_inh = caps.inheritable;
  a.creds.cap_prm = caps.permitted;
  a.creds.cap_eff = caps.effective;
  a.creds.cap_bnd = caps.bounding;
  a.creds.cap_amb = caps.ambient;
  a.creds.cap_last = cap_last;
  a.creds.securebits = im.attrs.securebits;
  a.proc.personality = im.attrs.personality;
  // 2 (suid_dumpable) cannot be set with prctl; the change of credentials
  // gives the process the value this host's fs.suid_dumpable says.
  a.proc.dumpable = im.attrs.dumpable <= 1 ? static_cast<int32_t>(im.attrs.dumpable) : -1;
  a.proc.thp_disable = im.attrs.thp_disabled ? 1 : 0;
  a.proc.membarrier = im.attrs.membarrier;
  a.proc.loginuid = im.attrs.loginuid;
  a.nr_guards = static_cast<uint32_t>(guards.size());
  a.guards_off = guards_off;
  a.nr_shared_sigs = static_cast<uint32_t>(shared_sigs.size());
  a.shared_sigs_off = shared_sigs_off;
  a.total_len = static_cast<uint32_t>(args.size());
  a.mlockall_flags = im.mlockall_flags;

  // --- the region: blob, args, stack, staging for the special mappings
  const auto &hdr = restorer_header();
  plan.blob_len = page_up(std::max<uint64_t>(hdr.image_end, lmig_restorer_blob_size));
  uint64_t args_len = page_up(args.size());
  uint64_t staging_len = 0;
  for (const auto &s : specials)
    staging_len += s.len;
  const uint64_t thread_stacks = (threads.size() - 1) * LMIG_RST_THREAD_STACK;
  plan.region_len = plan.blob_len + args_len + kStackSize + thread_stacks + staging_len;
  LMIG_ASSIGN_OR_RETURN(plan.region_start, find_hole(im, local, plan.region_len));
  plan.args_addr = plan.region_start + plan.blob_len;
  if (im.sigactions[SIGTRAP - 1].handler != 0) // SIG_DFL
    plan.sigtrap_action = plan.args_addr + offsetof(lmig_rst_args, sigactions) +
                          (SIGTRAP - 1) * sizeof(lmig_rst_sigaction);
  plan.stack_top = plan.args_addr + args_len + kStackSize;
  for (size_t i = 1; i < threads.size(); i++)
    threads[i].stack_top = plan.stack_top + i * LMIG_RST_THREAD_STACK;
  std::memcpy(args.data() + threads_off, threads.data(), threads.size() * sizeof(lmig_rst_thread));
  plan.threads = threads.size();
  uint64_t staging = plan.stack_top + thread_stacks;
  for (size_t i = 0; i < specials.size(); i++) {
    specials[i].staging = staging;
    staging += specials[i].len;
    a.special[i] = specials[i];
  }
  a.region_start = plan.region_start;
  a.region_len = plan.region_len;
  plan.entry = plan.region_start + hdr.entry;
  plan.self_unmap = plan.region_start + hdr.self_unmap;
  std::memcpy(args.data(), &a, sizeof a);
  plan.args = std::move(args);

  // --- pages written directly: those outside the userfaultfd ranges
  size_t ri = 0;
  for (const auto &r : im.pages) {
    while (ri < plan.uffd_ranges.size() && plan.uffd_ranges[ri].end <= r.addr)
      ri++;
    if (ri == plan.uffd_ranges.size() || plan.uffd_ranges[ri].start > r.addr)
      plan.eager.push_back(r);
  }
  return plan;
}

} // namespace lmig
