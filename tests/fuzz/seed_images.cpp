#include "tests/fuzz/seed_images.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

#include <algorithm>
#include <cstring>

namespace lmig::fuzz {
namespace {

constexpr uint32_t kR = PROT_READ, kRw = PROT_READ | PROT_WRITE, kRx = PROT_READ | PROT_EXEC;
constexpr uint64_t kExe = 0x555555554000ull;
constexpr uint64_t kHeap = 0x555555580000ull;
constexpr uint64_t kAnon = 0x7f0000100000ull;
constexpr uint64_t kShared = 0x7f0000400000ull;
constexpr uint64_t kLibc = 0x7f0000800000ull;
constexpr uint64_t kStack = 0x7ffc00000000ull;
constexpr uint64_t kVvar = 0x7ffc00100000ull;
constexpr uint64_t kVsyscall = 0xffffffffff600000ull;
constexpr int32_t kPid = 4242;

VmaImage vma(uint64_t start, uint64_t end, uint32_t prot, VmaKind kind, std::string path = {},
             uint64_t pgoff = 0, uint32_t flags = 0, uint64_t file_size = 0) {
  VmaImage v;
  v.start = start;
  v.end = end;
  v.prot = prot;
  v.kind = kind;
  v.path = std::move(path);
  v.pgoff = pgoff;
  v.vm_flags = flags;
  v.file_size = file_size;
  return v;
}

FileImage file(uint32_t id, FileKind kind, uint32_t flags, std::string path = {}) {
  FileImage f;
  f.id = id;
  f.kind = kind;
  f.flags = flags;
  f.path = std::move(path);
  return f;
}

SiginfoImage siginfo(int32_t sig, int32_t code, int32_t pid_or_timer, uint64_t value) {
  SiginfoImage s;
  std::memcpy(s.raw.data(), &sig, 4);
  std::memcpy(s.raw.data() + 8, &code, 4);
  std::memcpy(s.raw.data() + 16, &pid_or_timer, 4);
  std::memcpy(s.raw.data() + 24, &value, 8);
  return s;
}

ThreadImage thread(int32_t tid, uint64_t stack_top, std::string comm) {
  ThreadImage t;
  t.tid = tid;
  for (size_t i = 0; i < t.regs.size(); i++)
    t.regs[i] = 0x0101010101010101ull * (i % 16) + static_cast<uint64_t>(tid);
  t.regs[kRip] = kLibc + 0x28000 + 0x9a5b2;
  t.regs[kRsp] = stack_top - 0x1000;
  t.regs[kOrigRax] = 202; // futex: threads are mostly waiting
  t.regs[kCs] = 0x33;
  t.regs[kSs] = 0x2b;
  t.regs[kEflags] = 0x246;
  t.regs[kFsBase] = stack_top - 0x700;
  t.xsave.resize(832); // legacy area, header and AVX state
  for (size_t i = 0; i < t.xsave.size(); i++)
    t.xsave[i] = static_cast<uint8_t>(i * 13 + static_cast<size_t>(tid));
  t.rseq_addr = stack_top - 0x6e0;
  t.rseq_len = 32;
  t.rseq_sig = 0x53053053;
  t.comm = std::move(comm);
  t.clear_child_tid = stack_top - 0x6d0;
  t.robust_list = stack_top - 0x6c0;
  t.robust_len = 24;
  return t;
}

// One thread, the executable, libc, heap and stack, the kernel's pages,
// the terminal on stdio: what every process has.
ProcessImage minimal() {
  ProcessImage im;
  im.pid = kPid;
  im.comm = "worker";
  im.creds.uid = {1000, 1000, 1000, 1000};
  im.creds.gid = {1000, 1000, 1000, 1000};
  im.creds.groups = {24, 27, 1000};
  im.cwd = "/home/user";
  im.xfeatures = 0x2e7;
  im.vmas = {
      vma(kExe, kExe + 0x1000, kR, VmaKind::file_private, "/usr/bin/worker", 0, 0, 0x6000),
      vma(kExe + 0x1000, kExe + 0x4000, kRx, VmaKind::file_private, "/usr/bin/worker", 0x1000, 0,
          0x6000),
      vma(kExe + 0x4000, kExe + 0x5000, kRw, VmaKind::file_private, "/usr/bin/worker", 0x4000,
          kVmaMayWrite, 0x6000),
      vma(kHeap, kHeap + 0x21000, kRw, VmaKind::anon, "[heap]", 0, kVmaMayWrite),
      vma(kLibc, kLibc + 0x28000, kR, VmaKind::file_private, "/usr/lib/x86_64-linux-gnu/libc.so.6",
          0, 0, 1922136),
      vma(kLibc + 0x28000, kLibc + 0x1bd000, kRx, VmaKind::file_private,
          "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x28000, 0, 1922136),
      vma(kLibc + 0x1bd000, kLibc + 0x1c3000, kRw, VmaKind::file_private,
          "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x1bc000, kVmaMayWrite, 1922136),
      vma(kStack, kStack + 0x21000, kRw, VmaKind::anon, "[stack]", 0,
          kVmaGrowsDown | kVmaMayWrite),
      vma(kVvar, kVvar + 0x4000, kR, VmaKind::vvar, "[vvar]"),
      vma(kVvar + 0x4000, kVvar + 0x6000, kR, VmaKind::vvar_vclock, "[vvar_vclock]"),
      vma(kVvar + 0x6000, kVvar + 0x8000, kRx, VmaKind::vdso, "[vdso]"),
      vma(kVsyscall, kVsyscall + 0x1000, PROT_EXEC, VmaKind::vsyscall, "[vsyscall]"),
  };
  im.files = {file(1, FileKind::char_device, O_RDWR, "/dev/pts/3")};
  im.fds = {{0, 1, false}, {1, 1, false}, {2, 1, false}};
  im.rlimits = {{RLIMIT_NOFILE, 1024, 524288}, {RLIMIT_STACK, 8 << 20, ~0ull}};
  auto &m = im.mm;
  m.start_code = kExe + 0x1000;
  m.end_code = kExe + 0x3a31;
  m.start_data = kExe + 0x4d10;
  m.end_data = kExe + 0x4f88;
  m.start_brk = kHeap;
  m.brk = kHeap + 0x21000;
  m.start_stack = kStack + 0x1fe90;
  m.arg_start = kStack + 0x20a51;
  m.arg_end = kStack + 0x20a6a;
  m.env_start = m.arg_end;
  m.env_end = kStack + 0x20fe8;
  m.auxv = {33, kVvar + 0x6000, 6, 4096, 3, kExe + 0x40, 4, 56, 5, 13, 9, kExe + 0x1100, 0, 0};
  m.exe_path = "/usr/bin/worker";
  im.threads = {thread(kPid, kStack + 0x20000, "worker")};
  im.sigactions[SIGPIPE - 1] = {1 /* SIG_IGN */, 0x04000000, kLibc + 0x42520, 0};
  im.pages = {{kExe + 0x4000, 1}, {kHeap, 3}, {kLibc + 0x1c1000, 2}, {kStack + 0x1e000, 3}};
  return im;
}

// Several threads, each with its own signal state, under seccomp, with
// dropped capabilities and prctl flags.
ProcessImage threads() {
  ProcessImage im = minimal();
  for (int i = 1; i <= 3; i++) {
    const uint64_t stack = kAnon + static_cast<uint64_t>(i) * 0x100000;
    im.vmas.push_back(vma(stack - 0x100000, stack - 0xff000, PROT_NONE, VmaKind::anon)); // guard
    im.vmas.push_back(vma(stack - 0xff000, stack, kRw, VmaKind::anon, "", 0,
                          kVmaMayWrite | kVmaNoReserve));
    ThreadImage t = thread(kPid + i, stack, "pool-" + std::to_string(i));
    t.sigmask = ~0ull >> i;
    if (i == 2) {
      t.altstack_sp = stack - 0x10000;
      t.altstack_size = 0x4000;
      t.altstack_flags = 0;
      t.pending = {siginfo(SIGUSR1, -6 /* SI_TKILL */, kPid, 0)};
    }
    if (i == 3)
      t.rseq_addr = 0; // registered no rseq
    im.threads.push_back(std::move(t));
  }
  std::sort(im.vmas.begin(), im.vmas.end(),
            [](const VmaImage &a, const VmaImage &b) { return a.start < b.start; });
  im.shared_pending = {siginfo(35 /* SIGRTMIN+1 */, -1 /* SI_QUEUE */, 777, 101),
                       siginfo(SIGUSR2, 0 /* SI_USER */, 777, 0)};
  im.sigactions[SIGUSR1 - 1] = {kExe + 0x1b20, 0x04000004 /* SA_SIGINFO|SA_RESTORER */,
                                kLibc + 0x42520, 1ull << (SIGUSR2 - 1)};
  im.sigactions[SIGSEGV - 1] = {kExe + 0x1c30, 0x0c000004 /* |SA_ONSTACK */, kLibc + 0x42520, 0};
  im.attrs.personality = 0x0040000; // ADDR_NO_RANDOMIZE
  im.attrs.no_new_privs = true;
  im.attrs.dumpable = 0;
  im.attrs.pdeath_signal = SIGTERM;
  im.attrs.child_subreaper = true;
  im.attrs.securebits = 0x10;
  im.attrs.caps = {0, 0x1ffffffffffull, 0x1fffffcffffull, 0x1ffffffffffull, 0};
  SeccompImage strict;
  strict.tid = kPid + 3;
  strict.mode = 1;
  SeccompImage filtered;
  filtered.tid = kPid + 1;
  filtered.mode = 2;
  filtered.filters = {{0, {0x0000000400000020ull, 0x000103e800000015ull, 0x7fff000000000006ull}},
                      {2 /* SECCOMP_FILTER_FLAG_LOG */, {0x7fff000000000006ull}}};
  im.seccomp = {filtered, strict};
  im.pages.push_back({kAnon + 0x1ff000, 1});
  std::sort(im.pages.begin(), im.pages.end(),
            [](const PageRun &a, const PageRun &b) { return a.addr < b.addr; });
  return im;
}

// One open file of every kind, with what each carries: buffered pipe bytes,
// the contents of a deleted file and of a mapped memfd, shared anonymous
// memory, an epoll set, socket queues.
ProcessImage files() {
  ProcessImage im = minimal();
  im.vmas.push_back(vma(kShared, kShared + 0x2000, kRw, VmaKind::shmem, "/memfd:state", 0,
                        kVmaMayWrite));
  im.vmas.push_back(vma(kShared + 0x10000, kShared + 0x14000, kRw, VmaKind::shmem, "/dev/zero",
                        0, kVmaMayWrite | kVmaDontFork));
  std::sort(im.vmas.begin(), im.vmas.end(),
            [](const VmaImage &a, const VmaImage &b) { return a.start < b.start; });
  im.shmem_maps = {{kShared, 502, false}, {kShared + 0x10000, 503, true}};

  auto add = [&](FileImage f, int32_t fd, bool cloexec = false) {
    im.fds.push_back({fd, f.id, cloexec});
    im.files.push_back(std::move(f));
  };
  FileImage log = file(2, FileKind::regular, O_WRONLY | O_APPEND, "/var/log/worker.log");
  log.pos = log.size = 123456;
  add(log, 3, true);
  add(file(3, FileKind::directory, O_RDONLY | O_DIRECTORY, "/home/user"), 4, true);
  FileImage rd = file(4, FileKind::pipe, O_RDONLY), wr = file(5, FileKind::pipe, O_WRONLY);
  rd.pipe_id = wr.pipe_id = 91001;
  wr.pipe_write_end = true;
  add(rd, 5);
  add(wr, 6);
  im.fds.push_back({7, 5, true}); // a dup of the write end
  FileImage fifo = file(6, FileKind::fifo, O_RDONLY | O_NONBLOCK, "/run/worker/control");
  fifo.pipe_id = 91002;
  add(fifo, 8);
  FileImage deleted = file(7, FileKind::deleted, O_RDWR, "/var/tmp/scratch");
  deleted.pos = 5000;
  deleted.contents_id = 501;
  add(deleted, 9);
  FileImage memfd = file(8, FileKind::memfd, O_RDWR | O_LARGEFILE);
  memfd.contents_id = 502;
  add(memfd, 10, true);
  add(file(9, FileKind::eventfd, O_RDWR | O_NONBLOCK), 11);
  add(file(10, FileKind::epoll, O_RDWR), 12, true);
  add(file(11, FileKind::signalfd, O_RDWR | O_NONBLOCK), 13);
  add(file(12, FileKind::timerfd, O_RDWR), 14);
  add(file(13, FileKind::inotify, O_RDONLY | O_NONBLOCK), 15);
  for (uint32_t id = 14; id <= 17; id++)
    add(file(id, FileKind::unix_socket, O_RDWR), static_cast<int32_t>(id + 2));

  PipeImage p1;
  p1.id = 91001;
  p1.capacity = 65536;
  const char bytes[] = "buffered\0bytes\n";
  p1.data.assign(bytes, bytes + sizeof bytes - 1);
  PipeImage p2;
  p2.id = 91002;
  p2.capacity = 4096;
  p2.data = {'s', 't', 'o', 'p', '\n'};
  im.pipes = {p1, p2};

  ContentsImage scratch; // deleted, sparse
  scratch.id = 501;
  scratch.size = 1 << 20;
  scratch.mode = 0640;
  scratch.uid = scratch.gid = 1000;
  scratch.extents = {{0, {'h', 'e', 'a', 'd'}}, {65536, std::vector<uint8_t>(64, 0xee)}};
  ContentsImage state; // memfd, sealed against shrinking
  state.id = 502;
  state.name = "state";
  state.size = 0x2000;
  state.mode = 0777;
  state.seals = 0x2 /* F_SEAL_SHRINK */;
  state.extents = {{0x1000, std::vector<uint8_t>(32, 0x5a)}};
  ContentsImage zero; // shared anonymous memory
  zero.id = 503;
  zero.size = 0x4000;
  zero.mode = 0777;
  zero.anon = true;
  zero.extents = {{0, {1, 2, 3, 4, 5, 6, 7, 8}}};
  im.contents = {scratch, state, zero};

  im.eventfds = {{9, (1ull << 32) + 5, true}};
  im.epolls = {{10,
                {{11, EPOLLIN | EPOLLET, 0xdeadbeefcafef00dull},
                 {5, EPOLLIN, 5},
                 {16, EPOLLONESHOT, 16},
                 {14, EPOLLIN | EPOLLERR | EPOLLHUP, 14}}}};
  im.signalfds = {{11, (1ull << (SIGUSR2 - 1)) | (1ull << (SIGCHLD - 1))}};
  im.timerfds = {{12, CLOCK_MONOTONIC, 0, 3, 40000000, 50000000, 1700000000123456789ull}};
  im.inotifies = {{13,
                   {{1, IN_CREATE | IN_DELETE, "/home/user"},
                    {4, IN_MODIFY | IN_ONESHOT | IN_EXCL_UNLINK, "/var/log/worker.log"}}}};
  UnixSocketImage a, b, c, d;
  a.file_id = 14;
  a.peer_file_id = 15;
  a.type = SOCK_STREAM;
  a.sndbuf = a.rcvbuf = 212992;
  a.queue = {{'p', 'i', 'n', 'g'}, {'!'}};
  b = a;
  b.file_id = 15;
  b.peer_file_id = 14;
  b.peek_off = 2;
  b.shutdown = 2;
  b.queue = {};
  c.file_id = 16;
  c.peer_file_id = 17;
  c.type = SOCK_DGRAM;
  c.sndbuf = c.rcvbuf = 4608;
  c.queue = {{'o', 'n', 'e'}, {}, std::vector<uint8_t>(40, 0x42)};
  d = c;
  d.file_id = 17;
  d.peer_file_id = 16;
  d.type = SOCK_DGRAM;
  d.queue = {};
  im.unix_sockets = {a, b, c, d};
  return im;
}

// Every kind of timer: the three itimers, POSIX timers on several clocks
// and notifications (one whose signal waits in the queue), an absolute
// real-time timerfd cancelled on clock changes.
ProcessImage timers() {
  ProcessImage im = minimal();
  im.threads.push_back(thread(kPid + 1, kStack - 0x100000, "ticker"));
  im.timers.captured_ns = 1700000000123456789ull;
  im.timers.itimers[ITIMER_REAL] = {30000000000ull, 7250000000ull};
  im.timers.itimers[ITIMER_VIRTUAL] = {1000000ull, 1000000ull};
  im.timers.itimers[ITIMER_PROF] = {50000000000ull, 0};
  im.timers.posix = {
      {0, CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0, 35000000000ull, 0, 0, false},
      {1, CLOCK_REALTIME, SIGEV_SIGNAL, 36 /* SIGRTMIN+2 */, 0, 0x1234, 999, 20000000000ull, 3, true},
      {2, CLOCK_BOOTTIME, SIGEV_SIGNAL | SIGEV_THREAD_ID, SIGALRM, kPid + 1, ~0ull, 0, 0, 0, false},
      {5, CLOCK_TAI, SIGEV_SIGNAL, SIGUSR1, 0, 7, 1, 1000000, 0, false},
  };
  im.shared_pending = {siginfo(36 /* SIGRTMIN+2 */, kSiTimer, 1, 0x1234)};
  im.files.push_back(file(2, FileKind::timerfd, O_RDWR | O_CLOEXEC));
  im.fds.push_back({3, 2, true});
  im.timerfds = {{2, CLOCK_REALTIME, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, 0,
                  3600000000000ull, 86400000000000ull, 1700000000123456789ull}};
  im.sigactions[SIGALRM - 1] = {kExe + 0x1d40, 0x04000000, kLibc + 0x42520, 0};
  return im;
}

// A member of a process tree: the files it shares with the others are
// named by slot only (the tree's files carry them), beside its own.
ProcessImage tree_member() {
  ProcessImage im = minimal();
  im.pid = kPid + 10;
  im.threads.front().tid = im.pid;
  im.files.front().shared_slot = 0; // the terminal, opened by the root
  FileImage rd = file(2, FileKind::pipe, O_RDONLY);
  rd.shared_slot = 1;
  FileImage sock = file(3, FileKind::unix_socket, O_RDWR);
  sock.shared_slot = 2;
  FileImage own = file(4, FileKind::regular, O_RDONLY, "/etc/worker.conf");
  own.size = 512;
  im.files.insert(im.files.end(), {rd, sock, own});
  im.fds.insert(im.fds.end(), {{3, 2, false}, {4, 3, true}, {5, 4, true}});
  im.vmas.push_back(vma(kShared, kShared + 0x4000, kRw, VmaKind::shmem, "/dev/zero", 0,
                        kVmaMayWrite));
  std::sort(im.vmas.begin(), im.vmas.end(),
            [](const VmaImage &a, const VmaImage &b) { return a.start < b.start; });
  ContentsImage shared;
  shared.id = 1;
  shared.shared_slot = 3;
  im.contents = {shared};
  im.shmem_maps = {{kShared, 1, true}};
  return im;
}

ProcessImage everything() {
  ProcessImage im = files();
  const ProcessImage t = threads(), tm = timers();
  im.vmas = t.vmas;
  im.vmas.push_back(vma(kShared, kShared + 0x2000, kRw, VmaKind::shmem, "/memfd:state", 0,
                        kVmaMayWrite));
  im.vmas.push_back(vma(kShared + 0x10000, kShared + 0x14000, kRw, VmaKind::shmem, "/dev/zero",
                        0, kVmaMayWrite | kVmaDontFork));
  std::sort(im.vmas.begin(), im.vmas.end(),
            [](const VmaImage &a, const VmaImage &b) { return a.start < b.start; });
  im.threads = t.threads;
  im.shared_pending = t.shared_pending;
  im.sigactions = t.sigactions;
  im.attrs = t.attrs;
  im.seccomp = t.seccomp;
  im.pages = t.pages;
  im.timers = tm.timers;
  im.timers.posix[2].tid = kPid + 2; // a thread this image has
  im.shared_pending.push_back(tm.shared_pending.front());
  im.mlockall_flags = MCL_FUTURE;
  return im;
}

// The files of a tree are an image with nothing but fd state, whose fd
// numbers are the slots the members name.
ProcessImage shell_files() {
  ProcessImage im;
  im.pid = 0;
  im.files = {file(1, FileKind::char_device, O_RDWR, "/dev/pts/3"),
              file(2, FileKind::pipe, O_RDONLY), file(3, FileKind::pipe, O_WRONLY),
              file(4, FileKind::regular, O_WRONLY | O_APPEND, "/var/log/build.log")};
  im.files[1].pipe_id = im.files[2].pipe_id = 7;
  im.files[2].pipe_write_end = true;
  im.files[3].pos = im.files[3].size = 9000;
  im.fds = {{0, 1, false}, {1, 2, false}, {2, 3, false}, {3, 4, true}};
  PipeImage p;
  p.id = 7;
  p.capacity = 65536;
  p.data = {'m', 'a', 'k', 'e', ':', ' ', '*', '\n'};
  im.pipes = {p};
  return im;
}

ProcessImage shared_state_files() {
  ProcessImage im;
  im.pid = 0;
  im.files = {file(1, FileKind::unix_socket, O_RDWR), file(2, FileKind::unix_socket, O_RDWR),
              file(3, FileKind::memfd, O_RDWR), file(4, FileKind::eventfd, O_RDWR),
              file(5, FileKind::memfd, O_RDWR)};
  im.files[2].contents_id = 1;
  im.files[4].contents_id = 2;
  im.fds = {{0, 1, false}, {1, 2, false}, {2, 3, true}, {3, 4, false}, {4, 5, true}};
  UnixSocketImage a, b;
  a.file_id = 1;
  a.peer_file_id = 2;
  a.type = SOCK_SEQPACKET;
  a.sndbuf = a.rcvbuf = 212992;
  a.queue = {{'j', 'o', 'b', ' ', '1'}, {}};
  b = a;
  b.file_id = 2;
  b.peer_file_id = 1;
  b.queue = {{'d', 'o', 'n', 'e'}};
  im.unix_sockets = {a, b};
  im.eventfds = {{4, 2, false}};
  ContentsImage memfd;
  memfd.id = 1;
  memfd.name = "queue";
  memfd.size = 0x3000;
  memfd.mode = 0777;
  memfd.seals = 0x1 /* F_SEAL_SEAL */;
  memfd.extents = {{0, {'q', 'u', 'e', 'u', 'e'}}, {0x2000, std::vector<uint8_t>(16, 0x77)}};
  ContentsImage anon; // shared anonymous memory, reached through a memfd slot
  anon.id = 2;
  anon.size = 0x4000;
  anon.mode = 0777;
  anon.anon = true;
  anon.extents = {{0x1000, {9, 8, 7, 6}}};
  im.contents = {memfd, anon};
  return im;
}

TreeMember member(int32_t pid, int32_t ppid, int32_t pgid, int32_t sid, uint64_t session) {
  TreeMember m;
  m.pid = pid;
  m.ppid = ppid;
  m.pgid = pgid;
  m.sid = sid;
  m.exit_signal = SIGCHLD;
  m.session = session;
  return m;
}

} // namespace

std::vector<std::pair<std::string, ProcessImage>> seed_images() {
  return {{"minimal", minimal()},         {"threads", threads()}, {"files", files()},
          {"timers", timers()},           {"tree-member", tree_member()},
          {"everything", everything()}};
}

std::vector<std::pair<std::string, ProcessImage>> seed_tree_files() {
  return {{"shell", shell_files()}, {"shared-state", shared_state_files()}};
}

std::vector<std::pair<std::string, ProcessTree>> seed_trees() {
  // A shell: the root leads the session; 101 leads a group 102 joins; 103
  // is a zombie killed by SIGTERM, 106 one that exited 3; 104 has a session
  // of its own, its child 105 stays in it.
  ProcessTree shell;
  shell.members = {member(100, 0, 100, 100, 0), member(101, 100, 101, 100, 11),
                   member(102, 100, 101, 100, 12)};
  TreeMember killed = member(103, 100, 100, 100, 0);
  killed.zombie = true;
  killed.wait_status = SIGTERM;
  killed.comm = "worker";
  TreeMember exited = member(106, 101, 101, 100, 0);
  exited.zombie = true;
  exited.wait_status = 3 << 8;
  exited.comm = "cc1plus";
  shell.members.insert(shell.members.end(), {killed, member(104, 100, 104, 104, 14),
                                             member(105, 104, 104, 104, 15), exited});
  shell.members[4].exit_signal = 0; // cloned without a signal to the parent
  ProcessTree root;
  root.members = {member(4242, 0, 4242, 4242, 0)};
  ProcessTree chain; // each the child of the one before
  chain.members = {member(2000, 0, 2000, 2000, 0)};
  for (int32_t pid = 2001; pid < 2008; pid++)
    chain.members.push_back(member(pid, pid - 1, 2000, 2000, static_cast<uint64_t>(pid)));
  return {{"shell", shell}, {"root-only", root}, {"chain", chain}};
}

} // namespace lmig::fuzz
