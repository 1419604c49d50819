#include "engine/image/image_codec.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include "engine/image/byte_codec.hpp"
#include "engine/image/fd_validation.hpp"
#include "engine/image/timer_validation.hpp"

namespace lmig {
namespace {

constexpr char kMagic[8] = {'L', 'M', 'I', 'G', 'I', 'M', 'G', '1'};
constexpr size_t kMaxPath = 4096;

// A cgroup path a target may append to its own root: absolute, and no
// component that climbs out of it or names nothing.
bool cgroup_path_ok(const std::string &p) {
  if (p.empty() || p[0] != '/')
    return false;
  size_t at = 1;
  while (at <= p.size()) {
    size_t end = p.find('/', at);
    if (end == std::string::npos)
      end = p.size();
    const std::string part = p.substr(at, end - at);
    if (part == "." || part == ".." || (part.empty() && end != p.size()))
      return false;
    at = end + 1;
  }
  return p.find('\0') == std::string::npos;
}
constexpr size_t kMaxXsave = 16384;
constexpr size_t kMaxPipeData = 64u << 20;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kTaskSize = 0x7ffffffff000ull;

enum Tag : uint16_t {
  kTagProcess = 1,
  kTagCreds = 2,
  kTagVmas = 3,
  kTagFiles = 4,
  kTagFds = 5,
  kTagPipes = 6,
  kTagSignals = 7,
  kTagRlimits = 8,
  kTagMm = 9,
  kTagThreads = 10,
  kTagPages = 11,
  kTagContents = 12,
  kTagEventfds = 13,
  kTagEpolls = 14,
  kTagSignalfds = 15,
  kTagTimerfds = 16,
  kTagInotifies = 17,
  kTagUnixSockets = 18,
  kTagProcAttrs = 19,
  kTagSeccomp = 20,
  kTagPendingSignals = 21,
  kTagTimers = 22,
  kTagShmemMaps = 23,
  kTagMlockall = 24,
  kLastTag = kTagMlockall,
};

// Every section a writer emits and a reader requires (tag numbers are
// handed out in blocks, so the list may have gaps).
constexpr Tag kAllTags[] = {kTagProcess,   kTagCreds,     kTagVmas,        kTagFiles,
                            kTagFds,       kTagPipes,     kTagSignals,     kTagRlimits,
                            kTagMm,        kTagThreads,   kTagPages,       kTagContents,
                            kTagEventfds,  kTagEpolls,    kTagSignalfds,   kTagTimerfds,
                            kTagInotifies, kTagUnixSockets, kTagProcAttrs,   kTagSeccomp,
                            kTagPendingSignals, kTagTimers, kTagShmemMaps, kTagMlockall};
constexpr size_t kMaxPosixTimers = 1u << 16;

void put_siginfos(ByteWriter &w, const std::vector<SiginfoImage> &q) {
  w.u32(static_cast<uint32_t>(q.size()));
  for (const auto &i : q)
    w.raw(i.raw.data(), i.raw.size());
}

void read_siginfos(ByteReader &r, std::vector<SiginfoImage> &q) {
  uint32_t n = r.count(128, kMaxQueuedSignals);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    SiginfoImage s;
    auto b = r.take(s.raw.size());
    if (r.failed())
      break;
    std::memcpy(s.raw.data(), b.data(), s.raw.size());
    if (s.signo() < 1 || s.signo() > 64 || s.signo() == 9 || s.signo() == 19)
      r.fail("queued signal " + std::to_string(s.signo()) + " cannot be queued");
    q.push_back(s);
  }
}

template <typename F> void section(ByteWriter &w, Tag tag, F &&body) {
  w.u16(tag);
  w.u16(0);
  size_t len_at = w.reserve_u32();
  size_t start = w.size();
  body();
  w.patch_u32(len_at, static_cast<uint32_t>(w.size() - start));
}

void put_regs(ByteWriter &w, const RegsImage &r) {
  for (uint64_t v : r)
    w.u64(v);
}

} // namespace

const char *file_kind_name(FileKind kind) {
  switch (kind) {
  case FileKind::regular: return "file";
  case FileKind::directory: return "directory";
  case FileKind::char_device: return "character device";
  case FileKind::pipe: return "pipe";
  case FileKind::fifo: return "FIFO";
  case FileKind::deleted: return "deleted file";
  case FileKind::memfd: return "memfd";
  case FileKind::eventfd: return "eventfd";
  case FileKind::epoll: return "epoll";
  case FileKind::signalfd: return "signalfd";
  case FileKind::timerfd: return "timerfd";
  case FileKind::inotify: return "inotify";
  case FileKind::unix_socket: return "unix socket";
  }
  return "file of an unknown kind";
}

int32_t SiginfoImage::signo() const {
  int32_t v;
  std::memcpy(&v, raw.data(), sizeof v);
  return v;
}
int32_t SiginfoImage::code() const {
  int32_t v;
  std::memcpy(&v, raw.data() + 8, sizeof v);
  return v;
}

uint64_t total_pages(const std::vector<PageRun> &runs) {
  uint64_t n = 0;
  for (const auto &r : runs)
    n += r.npages;
  return n;
}

std::vector<uint8_t> encode_image(const ProcessImage &im) {
  ByteWriter w;
  w.raw(kMagic, sizeof kMagic);
  w.u32(kImageVersion);
  w.u32(static_cast<uint32_t>(std::size(kAllTags))); // sections that follow

  section(w, kTagProcess, [&] {
    w.i32(im.pid);
    w.str(im.comm);
    w.u32(im.umask);
    w.str(im.cwd);
    w.u8(im.cwd_deleted ? 1 : 0);
    w.u64(im.xfeatures);
  });
  section(w, kTagCreds, [&] {
    for (auto v : im.creds.uid)
      w.u32(v);
    for (auto v : im.creds.gid)
      w.u32(v);
    w.u32(static_cast<uint32_t>(im.creds.groups.size()));
    for (auto g : im.creds.groups)
      w.u32(g);
  });
  section(w, kTagVmas, [&] {
    w.u32(static_cast<uint32_t>(im.vmas.size()));
    for (const auto &v : im.vmas) {
      w.u64(v.start);
      w.u64(v.end);
      w.u64(v.pgoff);
      w.u32(v.prot);
      w.u32(v.vm_flags);
      w.u8(static_cast<uint8_t>(v.kind));
      w.str(v.path);
      w.u64(v.file_size);
    }
  });
  section(w, kTagFiles, [&] {
    w.u32(static_cast<uint32_t>(im.files.size()));
    for (const auto &f : im.files) {
      w.u32(f.id);
      w.u8(static_cast<uint8_t>(f.kind));
      w.str(f.path);
      w.u32(f.flags);
      w.u64(f.pos);
      w.u64(f.pipe_id);
      w.u8(f.pipe_write_end ? 1 : 0);
      w.u64(f.size);
      w.u64(f.contents_id);
      w.i32(f.shared_slot);
      w.u32(f.owner_type);
      w.i32(f.owner);
      w.i32(f.signal);
    }
  });
  section(w, kTagFds, [&] {
    w.u32(static_cast<uint32_t>(im.fds.size()));
    for (const auto &f : im.fds) {
      w.i32(f.fd);
      w.u32(f.file_id);
      w.u8(f.cloexec ? 1 : 0);
    }
  });
  section(w, kTagPipes, [&] {
    w.u32(static_cast<uint32_t>(im.pipes.size()));
    for (const auto &p : im.pipes) {
      w.u64(p.id);
      w.u32(p.capacity);
      w.bytes(p.data.data(), p.data.size());
    }
  });
  section(w, kTagSignals, [&] {
    for (const auto &s : im.sigactions) {
      w.u64(s.handler);
      w.u64(s.flags);
      w.u64(s.restorer);
      w.u64(s.mask);
    }
  });
  section(w, kTagRlimits, [&] {
    w.u32(static_cast<uint32_t>(im.rlimits.size()));
    for (const auto &r : im.rlimits) {
      w.u32(r.resource);
      w.u64(r.cur);
      w.u64(r.max);
    }
  });
  section(w, kTagMm, [&] {
    const auto &m = im.mm;
    for (uint64_t v : {m.start_code, m.end_code, m.start_data, m.end_data, m.start_brk, m.brk,
                       m.start_stack, m.arg_start, m.arg_end, m.env_start, m.env_end})
      w.u64(v);
    w.u32(static_cast<uint32_t>(m.auxv.size()));
    for (auto v : m.auxv)
      w.u64(v);
    w.str(m.exe_path);
  });
  section(w, kTagThreads, [&] {
    w.u32(static_cast<uint32_t>(im.threads.size()));
    for (const auto &t : im.threads) {
      w.i32(t.tid);
      put_regs(w, t.regs);
      w.bytes(t.xsave.data(), t.xsave.size());
      w.u64(t.sigmask);
      w.u64(t.rseq_addr);
      w.u32(t.rseq_len);
      w.u32(t.rseq_sig);
      w.str(t.comm);
      w.u64(t.clear_child_tid);
      w.u64(t.robust_list);
      w.u64(t.robust_len);
      w.u64(t.altstack_sp);
      w.u64(t.altstack_size);
      w.i32(t.altstack_flags);
      w.u32(t.sched_policy);
      w.u32(t.sched_priority);
      w.i32(t.nice);
    }
  });
  section(w, kTagPages, [&] {
    for (const auto *runs : {&im.pages, &im.guards}) {
      w.u32(static_cast<uint32_t>(runs->size()));
      for (const auto &r : *runs) {
        w.u64(r.addr);
        w.u64(r.npages);
      }
    }
  });
  section(w, kTagContents, [&] {
    w.u32(static_cast<uint32_t>(im.contents.size()));
    for (const auto &c : im.contents) {
      w.u64(c.id);
      w.str(c.name);
      w.u64(c.size);
      w.u32(c.mode);
      w.u32(c.uid);
      w.u32(c.gid);
      w.u32(c.seals);
      w.i64(c.atime_sec);
      w.u32(c.atime_nsec);
      w.i64(c.mtime_sec);
      w.u32(c.mtime_nsec);
      w.u8(c.anon ? 1 : 0);
      w.i32(c.shared_slot);
      w.u32(static_cast<uint32_t>(c.extents.size()));
      for (const auto &e : c.extents) {
        w.u64(e.offset);
        w.bytes(e.data.data(), e.data.size());
      }
    }
  });
  section(w, kTagEventfds, [&] {
    w.u32(static_cast<uint32_t>(im.eventfds.size()));
    for (const auto &e : im.eventfds) {
      w.u32(e.file_id);
      w.u64(e.count);
      w.u8(e.semaphore ? 1 : 0);
    }
  });
  section(w, kTagEpolls, [&] {
    w.u32(static_cast<uint32_t>(im.epolls.size()));
    for (const auto &e : im.epolls) {
      w.u32(e.file_id);
      w.u32(static_cast<uint32_t>(e.watches.size()));
      for (const auto &x : e.watches) {
        w.i32(x.fd);
        w.u32(x.events);
        w.u64(x.data);
      }
    }
  });
  section(w, kTagSignalfds, [&] {
    w.u32(static_cast<uint32_t>(im.signalfds.size()));
    for (const auto &s : im.signalfds) {
      w.u32(s.file_id);
      w.u64(s.mask);
    }
  });
  section(w, kTagTimerfds, [&] {
    w.u32(static_cast<uint32_t>(im.timerfds.size()));
    for (const auto &t : im.timerfds) {
      w.u32(t.file_id);
      w.i32(t.clockid);
      w.u32(t.settime_flags);
      w.u64(t.ticks);
      w.u64(t.value_ns);
      w.u64(t.interval_ns);
      w.u64(t.captured_ns);
    }
  });
  section(w, kTagInotifies, [&] {
    w.u32(static_cast<uint32_t>(im.inotifies.size()));
    for (const auto &n : im.inotifies) {
      w.u32(n.file_id);
      w.u32(static_cast<uint32_t>(n.watches.size()));
      for (const auto &x : n.watches) {
        w.i32(x.wd);
        w.u32(x.mask);
        w.str(x.path);
      }
    }
  });
  section(w, kTagUnixSockets, [&] {
    w.u32(static_cast<uint32_t>(im.unix_sockets.size()));
    for (const auto &u : im.unix_sockets) {
      w.u32(u.file_id);
      w.u32(u.peer_file_id);
      w.u32(u.type);
      w.u32(u.sndbuf);
      w.u32(u.rcvbuf);
      w.i32(u.peek_off);
      w.u32(u.shutdown);
      w.u32(static_cast<uint32_t>(u.queue.size()));
      for (const auto &m : u.queue)
        w.bytes(m.data(), m.size());
    }
  });
  section(w, kTagProcAttrs, [&] {
    const auto &a = im.attrs;
    w.u32(a.personality);
    w.u8(a.no_new_privs ? 1 : 0);
    w.u32(a.dumpable);
    w.i32(a.pdeath_signal);
    w.u8(a.child_subreaper ? 1 : 0);
    w.u32(a.securebits);
    w.u8(a.session_leader ? 1 : 0);
    for (uint64_t v : {a.caps.inheritable, a.caps.permitted, a.caps.effective, a.caps.bounding,
                       a.caps.ambient})
      w.u64(v);
    w.i32(a.oom_score_adj);
    w.u8(a.thp_disabled ? 1 : 0);
    w.u32(a.membarrier);
    w.u64(static_cast<uint64_t>(a.loginuid));
    w.u32(static_cast<uint32_t>(a.cgroups.size()));
    for (const auto &c : a.cgroups) {
      w.str(c.controllers);
      w.str(c.path);
    }
  });
  section(w, kTagSeccomp, [&] {
    w.u32(static_cast<uint32_t>(im.seccomp.size()));
    for (const auto &t : im.seccomp) {
      w.i32(t.tid);
      w.u32(t.mode);
      w.u32(static_cast<uint32_t>(t.filters.size()));
      for (const auto &f : t.filters) {
        w.u32(f.flags);
        w.u32(static_cast<uint32_t>(f.insns.size()));
        for (uint64_t i : f.insns)
          w.u64(i);
      }
    }
  });
  section(w, kTagPendingSignals, [&] {
    put_siginfos(w, im.shared_pending);
    w.u32(static_cast<uint32_t>(im.threads.size()));
    for (const auto &t : im.threads) {
      w.i32(t.tid);
      put_siginfos(w, t.pending);
    }
  });
  section(w, kTagTimers, [&] {
    const auto &t = im.timers;
    w.u64(t.captured_ns);
    for (const auto &i : t.itimers) {
      w.u64(i.value_ns);
      w.u64(i.interval_ns);
    }
    w.u32(static_cast<uint32_t>(t.posix.size()));
    for (const auto &p : t.posix) {
      w.i32(p.id);
      w.i32(p.clockid);
      w.i32(p.notify);
      w.i32(p.signo);
      w.i32(p.tid);
      w.u64(p.sigval);
      w.u64(p.value_ns);
      w.u64(p.interval_ns);
      w.i32(p.overrun_last);
      w.u8(p.signal_pending ? 1 : 0);
    }
  });
  section(w, kTagShmemMaps, [&] {
    w.u32(static_cast<uint32_t>(im.shmem_maps.size()));
    for (const auto &m : im.shmem_maps) {
      w.u64(m.start);
      w.u64(m.contents_id);
      w.u8(m.anon ? 1 : 0);
    }
  });
  section(w, kTagMlockall, [&] { w.u32(im.mlockall_flags); });
  return w.take();
}

namespace {

void read_process(ByteReader &r, ProcessImage &im) {
  im.pid = r.i32();
  im.comm = r.str(64);
  im.umask = r.u32();
  im.cwd = r.str(kMaxPath);
  im.cwd_deleted = r.boolean();
  im.xfeatures = r.u64();
}

void read_creds(ByteReader &r, ProcessImage &im) {
  for (auto &v : im.creds.uid)
    v = r.u32();
  for (auto &v : im.creds.gid)
    v = r.u32();
  uint32_t n = r.count(4, 65536);
  for (uint32_t i = 0; i < n && !r.failed(); i++)
    im.creds.groups.push_back(r.u32());
}

void read_vmas(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(41, 1u << 20);
  im.vmas.reserve(n);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    VmaImage v;
    v.start = r.u64();
    v.end = r.u64();
    v.pgoff = r.u64();
    v.prot = r.u32();
    v.vm_flags = r.u32();
    uint8_t kind = r.u8();
    if (kind > kLastVmaKind)
      r.fail("unknown VMA kind " + std::to_string(kind));
    v.kind = static_cast<VmaKind>(kind);
    v.path = r.str(kMaxPath);
    v.file_size = r.u64();
    im.vmas.push_back(std::move(v));
  }
}

void read_files(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(58, 1u << 20);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    FileImage f;
    f.id = r.u32();
    uint8_t kind = r.u8();
    if (kind > kLastFileKind)
      r.fail("unknown file kind " + std::to_string(kind));
    f.kind = static_cast<FileKind>(kind);
    f.path = r.str(kMaxPath);
    f.flags = r.u32();
    f.pos = r.u64();
    f.pipe_id = r.u64();
    f.pipe_write_end = r.boolean();
    f.size = r.u64();
    f.contents_id = r.u64();
    f.shared_slot = r.i32();
    if (f.shared_slot < -1 || f.shared_slot >= kMaxSharedSlots)
      r.fail("shared slot " + std::to_string(f.shared_slot) + " out of range");
    f.owner_type = r.u32();
    f.owner = r.i32();
    f.signal = r.i32();
    if (f.owner_type > F_OWNER_PGRP || f.owner < 0 || f.signal < 0 || f.signal > 64)
      r.fail("I/O signal owner " + std::to_string(f.owner_type) + ":" + std::to_string(f.owner) +
             " signal " + std::to_string(f.signal));
    im.files.push_back(std::move(f));
  }
}

void read_fds(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(9, 1u << 20);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    FdImage f;
    f.fd = r.i32();
    f.file_id = r.u32();
    f.cloexec = r.boolean();
    im.fds.push_back(f);
  }
}

void read_pipes(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(16, 1u << 16);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    PipeImage p;
    p.id = r.u64();
    p.capacity = r.u32();
    auto d = r.bytes(kMaxPipeData);
    p.data.assign(d.begin(), d.end());
    im.pipes.push_back(std::move(p));
  }
}

void read_signals(ByteReader &r, ProcessImage &im) {
  for (auto &s : im.sigactions) {
    s.handler = r.u64();
    s.flags = r.u64();
    s.restorer = r.u64();
    s.mask = r.u64();
  }
}

void read_rlimits(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(20, 16);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    RlimitImage l;
    l.resource = r.u32();
    l.cur = r.u64();
    l.max = r.u64();
    if (l.resource >= 16)
      r.fail("rlimit resource " + std::to_string(l.resource) + " out of range");
    im.rlimits.push_back(l);
  }
}

void read_mm(ByteReader &r, ProcessImage &im) {
  auto &m = im.mm;
  for (uint64_t *v : {&m.start_code, &m.end_code, &m.start_data, &m.end_data, &m.start_brk, &m.brk,
                      &m.start_stack, &m.arg_start, &m.arg_end, &m.env_start, &m.env_end})
    *v = r.u64();
  uint32_t n = r.count(8, 128);
  for (uint32_t i = 0; i < n && !r.failed(); i++)
    m.auxv.push_back(r.u64());
  m.exe_path = r.str(kMaxPath);
}

void read_threads(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(4 + 27 * 8 + 4 + 8 + 16 + 4 + 5 * 8 + 4, 1u << 16);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    ThreadImage t;
    t.tid = r.i32();
    for (auto &v : t.regs)
      v = r.u64();
    auto x = r.bytes(kMaxXsave);
    t.xsave.assign(x.begin(), x.end());
    t.sigmask = r.u64();
    t.rseq_addr = r.u64();
    t.rseq_len = r.u32();
    t.rseq_sig = r.u32();
    t.comm = r.str(15);
    t.clear_child_tid = r.u64();
    t.robust_list = r.u64();
    t.robust_len = r.u64();
    t.altstack_sp = r.u64();
    t.altstack_size = r.u64();
    t.altstack_flags = r.i32();
    t.sched_policy = r.u32();
    t.sched_priority = r.u32();
    t.nice = r.i32();
    im.threads.push_back(std::move(t));
  }
}

void read_pages(ByteReader &r, ProcessImage &im) {
  for (auto *runs : {&im.pages, &im.guards}) {
    uint32_t n = r.count(16, 1u << 26);
    runs->reserve(n);
    for (uint32_t i = 0; i < n && !r.failed(); i++) {
      PageRun p;
      p.addr = r.u64();
      p.npages = r.u64();
      runs->push_back(p);
    }
  }
}

void read_contents(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(69, 1u << 20);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    ContentsImage c;
    c.id = r.u64();
    c.name = r.str(kMaxPath);
    c.size = r.u64();
    c.mode = r.u32();
    c.uid = r.u32();
    c.gid = r.u32();
    c.seals = r.u32();
    c.atime_sec = r.i64();
    c.atime_nsec = r.u32();
    c.mtime_sec = r.i64();
    c.mtime_nsec = r.u32();
    if (c.atime_nsec >= 1000000000u || c.mtime_nsec >= 1000000000u)
      r.fail("file times with " + std::to_string(std::max(c.atime_nsec, c.mtime_nsec)) +
             " nanoseconds");
    c.anon = r.boolean();
    c.shared_slot = r.i32();
    if (c.shared_slot < -1 || c.shared_slot >= kMaxSharedSlots)
      r.fail("shared slot " + std::to_string(c.shared_slot) + " out of range");
    uint32_t ne = r.count(12, 1u << 16);
    for (uint32_t k = 0; k < ne && !r.failed(); k++) {
      ExtentImage e;
      e.offset = r.u64();
      auto d = r.bytes(kMaxFileContents);
      e.data.assign(d.begin(), d.end());
      c.extents.push_back(std::move(e));
    }
    im.contents.push_back(std::move(c));
  }
}

void read_eventfds(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(13, 1u << 20);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    EventfdImage e;
    e.file_id = r.u32();
    e.count = r.u64();
    e.semaphore = r.boolean();
    im.eventfds.push_back(e);
  }
}

void read_epolls(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(8, 1u << 20);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    EpollImage e;
    e.file_id = r.u32();
    uint32_t nw = r.count(16, 1u << 20);
    for (uint32_t k = 0; k < nw && !r.failed(); k++) {
      EpollWatchImage x;
      x.fd = r.i32();
      x.events = r.u32();
      x.data = r.u64();
      e.watches.push_back(x);
    }
    im.epolls.push_back(std::move(e));
  }
}

void read_signalfds(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(12, 1u << 20);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    SignalfdImage s;
    s.file_id = r.u32();
    s.mask = r.u64();
    im.signalfds.push_back(s);
  }
}

void read_timerfds(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(44, 1u << 20);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    TimerfdImage t;
    t.file_id = r.u32();
    t.clockid = r.i32();
    t.settime_flags = r.u32();
    t.ticks = r.u64();
    t.value_ns = r.u64();
    t.interval_ns = r.u64();
    t.captured_ns = r.u64();
    im.timerfds.push_back(t);
  }
}

void read_inotifies(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(8, 1u << 20);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    InotifyImage in;
    in.file_id = r.u32();
    uint32_t nw = r.count(12, static_cast<size_t>(kMaxInotifyWd));
    for (uint32_t k = 0; k < nw && !r.failed(); k++) {
      InotifyWatchImage x;
      x.wd = r.i32();
      x.mask = r.u32();
      x.path = r.str(kMaxPath);
      in.watches.push_back(std::move(x));
    }
    im.inotifies.push_back(std::move(in));
  }
}

void read_unix_sockets(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(32, 1u << 20);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    UnixSocketImage u;
    u.file_id = r.u32();
    u.peer_file_id = r.u32();
    u.type = r.u32();
    u.sndbuf = r.u32();
    u.rcvbuf = r.u32();
    u.peek_off = r.i32();
    u.shutdown = r.u32();
    uint32_t nm = r.count(4, 1u << 20);
    for (uint32_t k = 0; k < nm && !r.failed(); k++) {
      auto d = r.bytes(kMaxSocketQueue);
      u.queue.emplace_back(d.begin(), d.end());
    }
    im.unix_sockets.push_back(std::move(u));
  }
}

void read_proc_attrs(ByteReader &r, ProcessImage &im) {
  auto &a = im.attrs;
  a.personality = r.u32();
  a.no_new_privs = r.boolean();
  a.dumpable = r.u32();
  a.pdeath_signal = r.i32();
  a.child_subreaper = r.boolean();
  a.securebits = r.u32();
  a.session_leader = r.boolean();
  for (uint64_t *v : {&a.caps.inheritable, &a.caps.permitted, &a.caps.effective,
                      &a.caps.bounding, &a.caps.ambient})
    *v = r.u64();
  a.oom_score_adj = r.i32();
  a.thp_disabled = r.boolean();
  a.membarrier = r.u32();
  a.loginuid = static_cast<int64_t>(r.u64());
  if (a.loginuid < -1 || a.loginuid > 0xffffffffll)
    r.fail("login uid " + std::to_string(a.loginuid));
  const uint32_t ncg = r.count(8, 64);
  for (uint32_t i = 0; i < ncg && !r.failed(); i++) {
    CgroupImage c;
    c.controllers = r.str(256);
    c.path = r.str(kMaxPath);
    if (!cgroup_path_ok(c.path) || c.controllers.find_first_of(":/\n") != std::string::npos)
      r.fail("cgroup that is not a plain absolute path in a named hierarchy");
    a.cgroups.push_back(std::move(c));
  }
  if (a.membarrier & ~kMembarrierRegistrations)
    r.fail("membarrier registrations " + std::to_string(a.membarrier));
  if (a.oom_score_adj < -1000 || a.oom_score_adj > 1000)
    r.fail("oom_score_adj " + std::to_string(a.oom_score_adj));
  if (a.dumpable > 2)
    r.fail("dumpable " + std::to_string(a.dumpable));
  if (a.pdeath_signal < 0 || a.pdeath_signal > 64)
    r.fail("parent-death signal " + std::to_string(a.pdeath_signal));
}

void read_seccomp(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(12, 1u << 16);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    SeccompImage t;
    t.tid = r.i32();
    t.mode = r.u32();
    if (t.mode > 2)
      r.fail("seccomp mode " + std::to_string(t.mode));
    uint32_t nf = r.count(8, kMaxSeccompFilters);
    for (uint32_t k = 0; k < nf && !r.failed(); k++) {
      SeccompFilterImage f;
      f.flags = r.u32();
      uint32_t ni = r.count(8, kMaxSeccompInsns);
      if (ni == 0)
        r.fail("an empty seccomp filter");
      for (uint32_t j = 0; j < ni && !r.failed(); j++)
        f.insns.push_back(r.u64());
      t.filters.push_back(std::move(f));
    }
    if (!r.failed() && (t.mode == 2) != !t.filters.empty())
      r.fail("seccomp mode " + std::to_string(t.mode) + " with " +
             std::to_string(t.filters.size()) + " filters");
    im.seccomp.push_back(std::move(t));
  }
}

// Per-thread queues name their thread: the threads section may come later,
// so they are attached to their ThreadImage once every section is read.
struct ThreadQueues {
  std::vector<std::pair<int32_t, std::vector<SiginfoImage>>> queues;
};

void read_pending_signals(ByteReader &r, ProcessImage &im, ThreadQueues &tq) {
  read_siginfos(r, im.shared_pending);
  uint32_t n = r.count(8, 1u << 16);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    int32_t tid = r.i32();
    std::vector<SiginfoImage> q;
    read_siginfos(r, q);
    tq.queues.emplace_back(tid, std::move(q));
  }
}

void read_timers(ByteReader &r, ProcessImage &im) {
  auto &t = im.timers;
  t.captured_ns = r.u64();
  for (auto &i : t.itimers) {
    i.value_ns = r.u64();
    i.interval_ns = r.u64();
  }
  uint32_t n = r.count(49, kMaxPosixTimers);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    PosixTimerImage p;
    p.id = r.i32();
    p.clockid = r.i32();
    p.notify = r.i32();
    p.signo = r.i32();
    p.tid = r.i32();
    p.sigval = r.u64();
    p.value_ns = r.u64();
    p.interval_ns = r.u64();
    p.overrun_last = r.i32();
    p.signal_pending = r.boolean();
    t.posix.push_back(p);
  }
}

Status attach_thread_queues(ProcessImage &im, ThreadQueues &tq) {
  for (auto &[tid, q] : tq.queues) {
    // Clang 14 cannot capture a structured binding: the lambda takes a copy.
    auto it = std::find_if(im.threads.begin(), im.threads.end(),
                           [tid = tid](const ThreadImage &t) { return t.tid == tid; });
    if (it == im.threads.end())
      return make_error(LMIG_ERR_IMAGE, "image: signals queued for thread " +
                                            std::to_string(tid) + ", which it does not have");
    if (!it->pending.empty())
      return make_error(LMIG_ERR_IMAGE,
                        "image: thread " + std::to_string(tid) + " has two signal queues");
    it->pending = std::move(q);
  }
  return {};
}

void read_shmem_maps(ByteReader &r, ProcessImage &im) {
  uint32_t n = r.count(17, 1u << 20);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    ShmemMapImage m;
    m.start = r.u64();
    m.contents_id = r.u64();
    m.anon = r.boolean();
    im.shmem_maps.push_back(m);
  }
}

} // namespace

namespace {

Result<ProcessImage> decode_sections(std::span<const uint8_t> bytes) {
  auto bad = [](const std::string &why) {
    return make_error(LMIG_ERR_IMAGE, "image: " + why);
  };
  ByteReader r(bytes);
  auto magic = r.take(sizeof kMagic);
  if (r.failed() || std::memcmp(magic.data(), kMagic, sizeof kMagic) != 0)
    return bad("not an lmig image (bad magic)");
  uint32_t version = r.u32();
  if (version != kImageVersion)
    return bad("version " + std::to_string(version) + " is not supported (this build reads " +
               std::to_string(kImageVersion) + ")");
  uint32_t nsections = r.count(8, 4096);
  ProcessImage im;
  ThreadQueues thread_queues;
  std::set<uint16_t> seen;
  for (uint32_t i = 0; i < nsections && !r.failed(); i++) {
    uint16_t tag = r.u16();
    r.u16();
    uint32_t len = r.u32();
    auto body = r.take(len);
    if (r.failed())
      break;
    if (!seen.insert(tag).second)
      return bad("section " + std::to_string(tag) + " appears twice");
    ByteReader s(body);
    switch (tag) {
    case kTagProcess: read_process(s, im); break;
    case kTagCreds: read_creds(s, im); break;
    case kTagVmas: read_vmas(s, im); break;
    case kTagFiles: read_files(s, im); break;
    case kTagFds: read_fds(s, im); break;
    case kTagPipes: read_pipes(s, im); break;
    case kTagSignals: read_signals(s, im); break;
    case kTagRlimits: read_rlimits(s, im); break;
    case kTagMm: read_mm(s, im); break;
    case kTagThreads: read_threads(s, im); break;
    case kTagPages: read_pages(s, im); break;
    case kTagContents: read_contents(s, im); break;
    case kTagEventfds: read_eventfds(s, im); break;
    case kTagEpolls: read_epolls(s, im); break;
    case kTagSignalfds: read_signalfds(s, im); break;
    case kTagTimerfds: read_timerfds(s, im); break;
    case kTagInotifies: read_inotifies(s, im); break;
    case kTagUnixSockets: read_unix_sockets(s, im); break;
    case kTagProcAttrs: read_proc_attrs(s, im); break;
    case kTagSeccomp: read_seccomp(s, im); break;
    case kTagPendingSignals: read_pending_signals(s, im, thread_queues); break;
    case kTagTimers: read_timers(s, im); break;
    case kTagShmemMaps: read_shmem_maps(s, im); break;
    case kTagMlockall: im.mlockall_flags = s.u32(); break;
    default: continue; // a newer writer's section: skip it
    }
    if (s.failed())
      return bad("section " + std::to_string(tag) + ": " + s.why());
    if (s.remaining())
      return bad("section " + std::to_string(tag) + " has " + std::to_string(s.remaining()) +
                 " bytes it does not use");
  }
  if (r.failed())
    return bad(r.why());
  if (r.remaining())
    return bad(std::to_string(r.remaining()) + " bytes after the last section");
  for (uint16_t t : kAllTags)
    if (!seen.count(t))
      return bad("required section " + std::to_string(t) + " is missing");
  LMIG_TRY(attach_thread_queues(im, thread_queues));
  return im;
}

} // namespace

Result<ProcessImage> decode_image(std::span<const uint8_t> bytes) {
  LMIG_ASSIGN_OR_RETURN(ProcessImage im, decode_sections(bytes));
  LMIG_TRY(validate_image(im));
  return im;
}

Result<ProcessImage> decode_tree_files(std::span<const uint8_t> bytes) {
  LMIG_ASSIGN_OR_RETURN(ProcessImage im, decode_sections(bytes));
  if (im.pid != 0 || !im.threads.empty() || !im.vmas.empty() || !im.pages.empty() ||
      !im.shmem_maps.empty() || !im.epolls.empty())
    return make_error(LMIG_ERR_IMAGE, "the files of a tree come with process state");
  for (const auto &f : im.files)
    if (f.shared_slot >= 0)
      return make_error(LMIG_ERR_IMAGE, "a file of the tree's files is itself shared");
  for (const auto &fd : im.fds)
    if (fd.fd >= kMaxSharedSlots)
      return make_error(LMIG_ERR_IMAGE, "tree file slot " + std::to_string(fd.fd) + " out of range");
  LMIG_TRY(validate_fd_state(im));
  return im;
}

namespace {

// Each shmem VMA has exactly one ShmemMapImage, in VMA order, naming
// contents that exist; shared anonymous memory is no file's, a memfd's
// contents no deleted file's.
Status validate_shmem_maps(const ProcessImage &im) {
  auto bad = [](const std::string &why) {
    return make_error(LMIG_ERR_IMAGE, "image: " + why);
  };
  std::map<uint64_t, const ContentsImage *> contents;
  for (const auto &c : im.contents)
    contents[c.id] = &c;
  std::map<uint64_t, FileKind> used_by;
  for (const auto &f : im.files)
    if (f.kind == FileKind::memfd || f.kind == FileKind::deleted)
      used_by[f.contents_id] = f.kind;
  std::map<uint64_t, bool> anon_of;
  size_t k = 0;
  for (const auto &v : im.vmas) {
    if (v.kind != VmaKind::shmem)
      continue;
    const std::string where = "shmem mapping at " + std::to_string(v.start);
    if (k >= im.shmem_maps.size() || im.shmem_maps[k].start != v.start)
      return bad(where + " does not say which memory it maps");
    const ShmemMapImage &m = im.shmem_maps[k++];
    if (!contents.count(m.contents_id))
      return bad(where + " names unknown contents");
    if (v.pgoff % kPage)
      return bad(where + " has an unaligned offset");
    auto u = used_by.find(m.contents_id);
    if (u != used_by.end() && (m.anon || u->second != FileKind::memfd))
      return bad(where + " maps the contents of a file of another kind");
    auto [it, fresh] = anon_of.emplace(m.contents_id, m.anon);
    if (!fresh && it->second != m.anon)
      return bad(where + " maps contents both as a memfd and as shared anonymous memory");
  }
  if (k != im.shmem_maps.size())
    return bad("a shmem mapping record names no shmem VMA");
  return {};
}

} // namespace

Status validate_image(const ProcessImage &im) {
  auto bad = [](const std::string &why) {
    return make_error(LMIG_ERR_IMAGE, "image: " + why);
  };
  if (im.pid <= 1)
    return bad("pid " + std::to_string(im.pid) + " is not restorable");
  if (im.threads.empty())
    return bad("no threads");
  if (im.threads.front().tid != im.pid)
    return bad("the first thread is " + std::to_string(im.threads.front().tid) +
               ", not the thread-group leader " + std::to_string(im.pid));
  std::set<int32_t> tids;
  for (const auto &t : im.threads) {
    std::string th = "thread " + std::to_string(t.tid);
    if (t.tid <= 1 || !tids.insert(t.tid).second)
      return bad(th + ": TID not valid or not unique");
    if (t.xsave.size() > kMaxXsave || (t.xsave.size() && t.xsave.size() < 576))
      return bad(th + ": xsave area of " + std::to_string(t.xsave.size()) + " bytes");
    if (t.robust_list && t.robust_len != 24)
      return bad(th + ": robust list of " + std::to_string(t.robust_len) + " bytes");
    constexpr uint32_t kSsAutodisarm = 1u << 31; // not in glibc's headers
    if (static_cast<uint32_t>(t.altstack_flags) & ~(SS_ONSTACK | SS_DISABLE | kSsAutodisarm))
      return bad(th + ": sigaltstack flags " + std::to_string(t.altstack_flags));
    const uint32_t policy = t.sched_policy & ~static_cast<uint32_t>(SCHED_RESET_ON_FORK);
    const bool realtime = policy == SCHED_FIFO || policy == SCHED_RR;
    if ((policy != SCHED_OTHER && policy != SCHED_BATCH && policy != SCHED_IDLE && !realtime) ||
        (realtime ? t.sched_priority < 1 || t.sched_priority > 99 : t.sched_priority != 0))
      return bad(th + ": scheduling policy " + std::to_string(t.sched_policy) + " priority " +
                 std::to_string(t.sched_priority));
    if (t.nice < -20 || t.nice > 19)
      return bad(th + ": nice " + std::to_string(t.nice));
  }
  uint64_t prev_end = 0;
  for (size_t i = 0; i < im.vmas.size(); i++) {
    const auto &v = im.vmas[i];
    std::string where = "VMA " + std::to_string(i);
    if (v.kind == VmaKind::vsyscall)
      continue;
    if (v.start % kPage || v.end % kPage || v.start >= v.end || v.end > kTaskSize)
      return bad(where + ": bad range");
    if (v.start < prev_end)
      return bad(where + ": overlaps or is out of order");
    if (v.prot & ~static_cast<uint32_t>(PROT_READ | PROT_WRITE | PROT_EXEC))
      return bad(where + ": bad protection");
    if ((v.kind == VmaKind::file_private || v.kind == VmaKind::file_shared) &&
        (v.path.empty() || v.path[0] != '/' || v.pgoff % kPage))
      return bad(where + ": file mapping without an absolute path or with an unaligned offset");
    if (v.vm_flags & ~kVmaAllFlags)
      return bad(where + ": unknown flags");
    prev_end = v.end;
  }
  LMIG_TRY(validate_fd_state(im));
  LMIG_TRY(validate_timers(im));
  LMIG_TRY(validate_shmem_maps(im));
  if (im.mlockall_flags & ~static_cast<uint32_t>(MCL_FUTURE | MCL_ONFAULT))
    return bad("mlockall flags 0x" + std::to_string(im.mlockall_flags) + " are not MCL_FUTURE or MCL_ONFAULT");
  // Page and guard runs must lie inside anonymous or private file VMAs.
  for (const auto *runs : {&im.pages, &im.guards}) {
    const char *what = runs == &im.pages ? "page run" : "guard run";
    size_t vi = 0;
    uint64_t last = 0;
    for (const auto &p : *runs) {
      if (p.addr % kPage || p.npages == 0 || p.npages > (kTaskSize / kPage) || p.addr < last)
        return bad(std::string(what) + " at " + std::to_string(p.addr) +
                   " is malformed or out of order");
      uint64_t end = p.addr + p.npages * kPage;
      while (vi < im.vmas.size() && im.vmas[vi].end <= p.addr)
        vi++;
      if (vi == im.vmas.size() || im.vmas[vi].start > p.addr || im.vmas[vi].end < end ||
          (im.vmas[vi].kind != VmaKind::anon && im.vmas[vi].kind != VmaKind::file_private))
        return bad(std::string(what) + " at 0x" + [&] {
          char b[32];
          snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(p.addr));
          return std::string(b);
        }() + " lies outside the memory it belongs to");
      last = end;
    }
  }
  return {};
}

} // namespace lmig
