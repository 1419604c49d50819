// encode_image / decode_image / validate_image: the image must survive the
// wire intact, and hostile bytes must turn into LMIG_ERR_IMAGE errors, never
// a crash, a hang or a huge allocation.
#include "engine/image/image_codec.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/image/byte_codec.hpp"

namespace lmig {
namespace {

constexpr uint64_t kPage = 4096;

// --- a realistic image -----------------------------------------------------

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

FileImage file(uint32_t id, FileKind kind, std::string path, uint32_t flags, uint64_t pos = 0,
               uint64_t pipe_id = 0, bool write_end = false, uint64_t size = 0) {
  FileImage f;
  f.id = id;
  f.kind = kind;
  f.path = std::move(path);
  f.flags = flags;
  f.pos = pos;
  f.pipe_id = pipe_id;
  f.pipe_write_end = write_end;
  f.size = size;
  return f;
}

constexpr uint64_t kExe = 0x555555554000ull;
constexpr uint64_t kHeap = 0x555555580000ull;
constexpr uint64_t kMmapAnon = 0x7f1234500000ull;
constexpr uint64_t kShm = 0x7f1234600000ull;
constexpr uint64_t kLibc = 0x7f1234700000ull;
constexpr uint64_t kShared = 0x7f1234a00000ull;
constexpr uint64_t kStack = 0x7ffc12340000ull;
constexpr uint64_t kVvar = 0x7ffc12400000ull;
constexpr uint64_t kVsyscall = 0xffffffffff600000ull;

ProcessImage make_image() {
  ProcessImage im;
  im.pid = 4242;
  im.comm = "worker";
  im.creds.uid = {1000, 1001, 1002, 1003};
  im.creds.gid = {100, 101, 102, 103};
  im.creds.groups = {4, 24, 27, 100, 1000};
  im.umask = 027;
  im.cwd = "/home/user/work dir";
  im.xfeatures = 0x2e7;

  const uint32_t r = PROT_READ, rw = PROT_READ | PROT_WRITE, rx = PROT_READ | PROT_EXEC;
  im.vmas = {
      vma(kExe, kExe + 0x1000, r, VmaKind::file_private, "/usr/bin/worker", 0, 0, 0x9000),
      vma(kExe + 0x1000, kExe + 0x5000, rx, VmaKind::file_private, "/usr/bin/worker", 0x1000, 0,
          0x9000),
      vma(kExe + 0x5000, kExe + 0x7000, r, VmaKind::file_private, "/usr/bin/worker", 0x5000, 0,
          0x9000),
      vma(kExe + 0x7000, kExe + 0x8000, rw, VmaKind::file_private, "/usr/bin/worker", 0x7000,
          kVmaMayWrite, 0x9000),
      vma(kHeap, kHeap + 0x21000, rw, VmaKind::anon, "[heap]", 0, kVmaMayWrite),
      vma(kMmapAnon, kMmapAnon + 0x40000, rw, VmaKind::anon, "", 0, kVmaMayWrite | kVmaNoReserve),
      vma(kMmapAnon + 0x40000, kMmapAnon + 0x41000, PROT_NONE, VmaKind::anon, ""),
      vma(kMmapAnon + 0x41000, kMmapAnon + 0x42000, rw, VmaKind::anon, "", 0,
          kVmaMayWrite | kVmaLocked),
      vma(kShm, kShm + 0x4000, rw, VmaKind::file_shared, "/dev/shm/worker segment", 0x2000,
          kVmaMayWrite, 0x8000),
      vma(kLibc, kLibc + 0x28000, r, VmaKind::file_private, "/usr/lib/x86_64-linux-gnu/libc.so.6", 0,
          0, 1922136),
      vma(kLibc + 0x28000, kLibc + 0x1bd000, rx, VmaKind::file_private,
          "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x28000, 0, 1922136),
      vma(kLibc + 0x1bd000, kLibc + 0x1c1000, r, VmaKind::file_private,
          "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x1bc000, 0, 1922136),
      vma(kLibc + 0x1c1000, kLibc + 0x1c3000, rw, VmaKind::file_private,
          "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x1c0000, kVmaMayWrite, 1922136),
      // a memfd the process also holds (file 12), and shared anonymous memory
      vma(kShared + 0x10000, kShared + 0x12000, rw, VmaKind::shmem, "/memfd:worker: shared state", 0,
          kVmaMayWrite | kVmaDontDump),
      vma(kShared + 0x20000, kShared + 0x24000, r, VmaKind::shmem, "/dev/zero", 0x1000,
          kVmaMayWrite | kVmaHugePage | kVmaDontFork | kVmaLocked | kVmaLockOnFault),
      vma(kShared + 0x80000, kShared + 0xc0000, rw, VmaKind::anon, "", 0,
          kVmaMayWrite | kVmaHugePage | kVmaWipeOnFork),
      vma(kShared + 0xc0000, kShared + 0xc1000, rw, VmaKind::anon, "", 0, kVmaNoHugePage),
      vma(kStack, kStack + 0x21000, rw, VmaKind::anon, "[stack]", 0, kVmaGrowsDown | kVmaMayWrite),
      vma(kVvar, kVvar + 0x4000, r, VmaKind::vvar, "[vvar]"),
      vma(kVvar + 0x4000, kVvar + 0x6000, r, VmaKind::vvar_vclock, "[vvar_vclock]"),
      vma(kVvar + 0x6000, kVvar + 0x8000, rx, VmaKind::vdso, "[vdso]"),
      vma(kVsyscall, kVsyscall + 0x1000, PROT_EXEC, VmaKind::vsyscall, "[vsyscall]"),
  };

  im.files = {
      file(1, FileKind::char_device, "/dev/pts/3", O_RDWR),
      file(2, FileKind::regular, "/var/log/worker.log", O_WRONLY | O_APPEND, 123456, 0, false,
           123456),
      file(3, FileKind::directory, "/home/user", O_RDONLY | O_DIRECTORY),
      file(4, FileKind::pipe, "", O_RDONLY, 0, 91001, false),
      file(5, FileKind::pipe, "", O_WRONLY | O_NONBLOCK, 0, 91001, true),
      file(6, FileKind::pipe, "", O_RDONLY, 0, 91002, false),
      file(7, FileKind::regular, "/home/user/data file.bin", O_RDWR, 4096, 0, false, 1 << 20),
      // what has no path on the target, or more than a path
      file(8, FileKind::fifo, "/run/worker/control", O_RDONLY | O_NONBLOCK, 0, 91003),
      file(9, FileKind::fifo, "/run/worker/control", O_WRONLY, 0, 91003),
      file(10, FileKind::deleted, "/var/tmp/scratch", O_RDWR, 5000),
      file(11, FileKind::deleted, "/var/tmp/scratch", O_WRONLY | O_APPEND),
      file(12, FileKind::memfd, "", O_RDWR | O_LARGEFILE, 12),
      file(13, FileKind::eventfd, "", O_RDWR | O_NONBLOCK),
      file(14, FileKind::epoll, "", O_RDWR),
      file(15, FileKind::signalfd, "", O_RDWR | O_NONBLOCK),
      file(16, FileKind::timerfd, "", O_RDWR),
      file(17, FileKind::inotify, "", O_RDONLY | O_NONBLOCK),
      file(18, FileKind::unix_socket, "", O_RDWR),
      file(19, FileKind::unix_socket, "", O_RDWR | O_NONBLOCK),
      file(20, FileKind::unix_socket, "", O_RDWR),
      file(21, FileKind::unix_socket, "", O_RDWR),
  };
  im.files[9].contents_id = 501;
  im.files[10].contents_id = 501;
  im.files[11].contents_id = 502;
  im.fds = {
      {0, 1, false}, {1, 1, false}, {2, 1, false}, // stdin/out/err share the tty
      {3, 2, true},  {4, 3, true},  {5, 4, false}, {6, 5, false},
      {7, 6, true},  {9, 7, false}, {10, 5, true}, // a dup of the write end
      {11, 8, false}, {12, 9, false}, {13, 10, false}, {14, 11, true}, {15, 12, true},
      {16, 13, false}, {17, 14, true}, {18, 15, false}, {19, 16, false}, {20, 17, true},
      {21, 18, false}, {22, 19, false}, {23, 20, true}, {24, 21, false}, {30, 13, true},
  };
  PipeImage p1;
  p1.id = 91001;
  p1.capacity = 65536;
  const char msg[] = "buffered bytes\0with a NUL\n";
  p1.data.assign(msg, msg + sizeof msg - 1);
  PipeImage p2;
  p2.id = 91002;
  p2.capacity = 4096;
  for (int i = 0; i < 300; i++)
    p2.data.push_back(static_cast<uint8_t>(i * 7));
  PipeImage fifo;
  fifo.id = 91003;
  fifo.capacity = 1 << 20;
  fifo.data.assign({'c', 'm', 'd', '\n'});
  im.pipes = {p1, p2, fifo};

  ContentsImage scratch; // a deleted file, sparse
  scratch.id = 501;
  scratch.size = 1 << 20;
  scratch.mode = 0640;
  scratch.uid = 1000;
  scratch.gid = 100;
  scratch.extents = {{0, {'h', 'e', 'a', 'd'}}, {65536, std::vector<uint8_t>(100, 0xee)}};
  ContentsImage shm; // a sealed memfd
  shm.id = 502;
  shm.name = "worker: shared state";
  shm.size = 12;
  shm.mode = 0777;
  shm.seals = 0x0f;
  shm.extents = {{0, {'s', 'e', 'a', 'l', 'e', 'd', ' ', 'b', 'y', 't', 'e', 's'}}};
  ContentsImage zero; // shared anonymous memory
  zero.id = 503;
  zero.size = 0x5000;
  zero.mode = 0777;
  zero.extents = {{0x1000, std::vector<uint8_t>(4096, 0x5a)}};
  im.contents = {scratch, shm, zero};
  im.shmem_maps = {{kShared + 0x10000, 502, false}, {kShared + 0x20000, 503, true}};
  im.mlockall_flags = MCL_FUTURE | MCL_ONFAULT;
  im.eventfds = {{13, (1ull << 32) + 5, true}};
  im.epolls = {{14,
                {{13, EPOLLIN | EPOLLET, 0xdeadbeefcafef00dull},
                 {11, EPOLLIN, 11},
                 {21, EPOLLONESHOT, 21},
                 {30, EPOLLIN | EPOLLERR | EPOLLHUP, 30}}}};
  im.signalfds = {{15, (1ull << (SIGUSR2 - 1)) | (1ull << 33)}};
  im.timerfds = {{16, CLOCK_MONOTONIC, TFD_TIMER_ABSTIME, 3, 40000000, 50000000,
                  1700000000123456789ull}};
  im.inotifies = {{17,
                   {{1, IN_CREATE | IN_DELETE, "/home/user"},
                    {3, IN_MODIFY | IN_ONESHOT | IN_EXCL_UNLINK, "/home/user/data file.bin"}}}};
  UnixSocketImage a, b, c, d;
  a.file_id = 18;
  a.peer_file_id = 19;
  a.type = SOCK_STREAM;
  a.sndbuf = 425984;
  a.rcvbuf = 425984;
  a.queue = {{'p', 'i', 'n', 'g'}};
  b = a;
  b.file_id = 19;
  b.peer_file_id = 18;
  b.peek_off = 2;
  b.shutdown = 2;
  b.queue = {};
  c.file_id = 20;
  c.peer_file_id = 21;
  c.type = SOCK_SEQPACKET;
  c.sndbuf = c.rcvbuf = 212992;
  c.queue = {{'o', 'n', 'e'}, {}, std::vector<uint8_t>(200, 0x42)};
  d = c;
  d.file_id = 21;
  d.peer_file_id = 20;
  d.queue = {};
  im.unix_sockets = {a, b, c, d};

  im.sigactions[SIGINT - 1] = {0x555555555a10, 0x04000000, 0x7f1234742520, 0};
  im.sigactions[SIGUSR1 - 1] = {0x555555555b20, 0x04000004 /* SA_SIGINFO|SA_RESTORER */,
                                0x7f1234742520, 1ull << (SIGUSR2 - 1)};
  im.sigactions[SIGPIPE - 1] = {1 /* SIG_IGN */, 0x04000000, 0x7f1234742520, 0};
  im.sigactions[37 - 1] /* SIGRTMIN+3 */ = {0x555555555c30, 0x14000000, 0x7f1234742520, ~0ull};

  im.rlimits = {{RLIMIT_NOFILE, 1024, 524288},
                {RLIMIT_STACK, 8 << 20, ~0ull},
                {RLIMIT_CORE, 0, ~0ull},
                {RLIMIT_NPROC, 63704, 63704}};

  auto &m = im.mm;
  m.start_code = kExe + 0x1000;
  m.end_code = kExe + 0x4a31;
  m.start_data = kExe + 0x7d10;
  m.end_data = kExe + 0x7f88;
  m.start_brk = kHeap;
  m.brk = kHeap + 0x21000;
  m.start_stack = kStack + 0x1fe90;
  m.arg_start = kStack + 0x20a51;
  m.arg_end = kStack + 0x20a6a;
  m.env_start = m.arg_end;
  m.env_end = kStack + 0x20fe8;
  m.auxv = {33, kVvar + 0x6000, 16, 0x178bfbff, 6, 4096, 17, 100, 3, kExe + 0x40, 4, 56,
            5, 13,  7, kLibc - 0x30000, 8, 0, 9, kExe + 0x1100, 11, 1000, 12, 1000, 23, 0,
            25, kStack + 0x20a39, 31, kStack + 0x20fe8, 0, 0};
  m.exe_path = "/usr/bin/worker";

  ThreadImage t;
  t.tid = 4242;
  for (size_t i = 0; i < t.regs.size(); i++)
    t.regs[i] = 0x1111111111111111ull * (i % 15) + i;
  t.regs[kRip] = kLibc + 0x28000 + 0xea5b2;
  t.regs[kRsp] = kStack + 0x1f000;
  t.regs[kOrigRax] = static_cast<uint64_t>(-1);
  t.regs[kCs] = 0x33;
  t.regs[kSs] = 0x2b;
  t.regs[kEflags] = 0x246;
  t.xsave.resize(832);
  for (size_t i = 0; i < t.xsave.size(); i++)
    t.xsave[i] = static_cast<uint8_t>(i * 31 + 7);
  t.sigmask = (1ull << (SIGUSR2 - 1)) | (1ull << (SIGCHLD - 1));
  t.rseq_addr = kLibc - 0x2f760;
  t.rseq_len = 32;
  t.rseq_sig = 0x53053053;
  t.comm = "worker";
  t.clear_child_tid = kStack + 0x1f9d0;
  t.robust_list = kStack + 0x1f9e0;
  t.robust_len = 24;
  t.altstack_flags = SS_DISABLE;
  im.threads = {t};

  im.pages = {
      {kExe + 0x7000, 1},       // .data of the executable (private file mapping)
      {kHeap, 3},               // start of the heap
      {kHeap + 0x5000, 0x1c},   // rest of the heap, up to its end
      {kMmapAnon, 1},           // sparse anonymous mapping
      {kMmapAnon + 0x10000, 16},
      {kMmapAnon + 0x41000, 1}, // the locked page
      {kLibc + 0x1c1000, 2},    // libc .data/.bss
      {kStack + 0x1e000, 3},    // top of the stack
  };
  // A root process that dropped some capabilities, set a few prctl flags
  // and runs under two seccomp filters.
  im.attrs.personality = 0x0040000 | 0x0020000; // ADDR_NO_RANDOMIZE | UNAME26
  im.attrs.no_new_privs = true;
  im.attrs.dumpable = 0;
  im.attrs.pdeath_signal = SIGWINCH;
  im.attrs.child_subreaper = true;
  im.attrs.securebits = 0x10;
  im.attrs.session_leader = true;
  im.attrs.caps = {0x401, 0x1fffffcffffull, 0x1fffffcdfffull, 0x1ffffbeffffull, 0x400};
  SeccompImage sc;
  sc.tid = 4242;
  sc.mode = 2;
  sc.filters.push_back({0, {0x0000000400000020ull, 0x000103e800000015ull, 0x0000000000000006ull}});
  sc.filters.push_back({2, {0x7fff000000000006ull}});
  im.seccomp.push_back(sc);
  // Queued signals: a sigqueue()d RT signal, a kill()ed one, a timer's own,
  // and one in the thread's own queue.
  auto siginfo = [](int32_t sig, int32_t code, int32_t a, int32_t b, uint64_t value) {
    SiginfoImage s;
    std::memcpy(s.raw.data(), &sig, 4);
    std::memcpy(s.raw.data() + 8, &code, 4);
    std::memcpy(s.raw.data() + 16, &a, 4);
    std::memcpy(s.raw.data() + 20, &b, 4);
    std::memcpy(s.raw.data() + 24, &value, 8);
    return s;
  };
  im.shared_pending = {siginfo(35, -1, 777, 0, 101), siginfo(12, 0, 777, 0, 0),
                       siginfo(44, kSiTimer, 3, 0, 0x1234)};
  im.threads.front().pending = {siginfo(37, -6, im.pid, 0, 0)};
  im.timers.captured_ns = 1700000000123456789ull;
  im.timers.itimers[0] = {30000000000ull, 7250000000ull};
  im.timers.itimers[2] = {50000000000ull, 0};
  im.timers.posix = {{0, CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0, 35000000000ull, 0, 0, false},
                     {3, CLOCK_REALTIME, SIGEV_SIGNAL, 44, 0, 0x1234, 999, 20000000000ull, 3, true},
                     {7, CLOCK_BOOTTIME, SIGEV_SIGNAL | SIGEV_THREAD_ID, 45, im.threads.front().tid,
                      0xffffffffffffffffull, 0, 0, 0, false}};
  return im;
}

std::string error_of(const Status &st) { return st.ok() ? "<ok>" : st.error().message; }
template <typename T> std::string error_of(const Result<T> &r) {
  return r.ok() ? "<ok>" : r.error().message;
}

// --- the encoding, split into sections so tests can tamper with it ----------

struct Encoded {
  std::vector<uint8_t> magic; // 8 bytes
  uint32_t version = 0;
  uint32_t nsections = 0;
  struct Section {
    uint16_t tag = 0;
    uint16_t pad = 0;
    std::vector<uint8_t> body;
  };
  std::vector<Section> sections;

  static Encoded split(const std::vector<uint8_t> &bytes) {
    Encoded e;
    ByteReader r(bytes);
    auto m = r.take(8);
    e.magic.assign(m.begin(), m.end());
    e.version = r.u32();
    e.nsections = r.u32();
    while (r.remaining() && !r.failed()) {
      Section s;
      s.tag = r.u16();
      s.pad = r.u16();
      auto body = r.bytes(1u << 30);
      s.body.assign(body.begin(), body.end());
      e.sections.push_back(std::move(s));
    }
    EXPECT_FALSE(r.failed()) << r.why();
    return e;
  }

  std::vector<uint8_t> join() const {
    ByteWriter w;
    w.raw(magic.data(), magic.size());
    w.u32(version);
    w.u32(nsections);
    for (const auto &s : sections) {
      w.u16(s.tag);
      w.u16(s.pad);
      w.bytes(s.body.data(), s.body.size());
    }
    return w.take();
  }

  Section &tag(uint16_t t) {
    for (auto &s : sections)
      if (s.tag == t)
        return s;
    ADD_FAILURE() << "no section " << t;
    return sections.front();
  }
};

void put_u32(std::vector<uint8_t> &b, size_t at, uint32_t v) {
  ASSERT_LE(at + 4, b.size());
  std::memcpy(b.data() + at, &v, 4);
}

void expect_image_error(const std::vector<uint8_t> &bytes, const std::string &needle) {
  auto r = decode_image(bytes);
  ASSERT_FALSE(r.ok()) << "decoded although it should mention: " << needle;
  EXPECT_EQ(r.error().code, LMIG_ERR_IMAGE) << r.error().message;
  EXPECT_NE(r.error().message.find(needle), std::string::npos)
      << "message '" << r.error().message << "' does not mention '" << needle << "'";
}

// --- round trips -------------------------------------------------------------

TEST(ImageCodec, RealisticImageIsValid) {
  auto st = validate_image(make_image());
  EXPECT_TRUE(st.ok()) << error_of(st);
}

TEST(ImageCodec, RoundTripRealisticImage) {
  const ProcessImage im = make_image();
  auto bytes = encode_image(im);
  auto back = decode_image(bytes);
  ASSERT_TRUE(back.ok()) << error_of(back);
  EXPECT_TRUE(*back == im);
  // field by field, for a readable failure
  EXPECT_EQ(back->pid, im.pid);
  EXPECT_EQ(back->comm, im.comm);
  EXPECT_EQ(back->creds, im.creds);
  EXPECT_EQ(back->umask, im.umask);
  EXPECT_EQ(back->cwd, im.cwd);
  EXPECT_EQ(back->vmas, im.vmas);
  EXPECT_EQ(back->files, im.files);
  EXPECT_EQ(back->fds, im.fds);
  EXPECT_EQ(back->pipes, im.pipes);
  EXPECT_EQ(back->contents, im.contents);
  EXPECT_EQ(back->eventfds, im.eventfds);
  EXPECT_EQ(back->epolls, im.epolls);
  EXPECT_EQ(back->signalfds, im.signalfds);
  EXPECT_EQ(back->timerfds, im.timerfds);
  EXPECT_EQ(back->inotifies, im.inotifies);
  EXPECT_EQ(back->unix_sockets, im.unix_sockets);
  EXPECT_EQ(back->shmem_maps, im.shmem_maps);
  EXPECT_EQ(back->mlockall_flags, im.mlockall_flags);
  EXPECT_EQ(back->sigactions, im.sigactions);
  EXPECT_EQ(back->rlimits, im.rlimits);
  EXPECT_EQ(back->mm, im.mm);
  EXPECT_EQ(back->threads, im.threads);
  EXPECT_EQ(back->pages, im.pages);
  EXPECT_EQ(back->xfeatures, im.xfeatures);
  EXPECT_EQ(back->attrs, im.attrs);
  EXPECT_EQ(back->seccomp, im.seccomp);
  // Encoding is deterministic: re-encoding the decoded image gives the same bytes.
  EXPECT_EQ(encode_image(*back), bytes);
}

TEST(ImageCodec, RoundTripMinimalImage) {
  ProcessImage im;
  im.pid = 2;
  im.threads.resize(1);
  im.threads[0].tid = 2;
  auto back = decode_image(encode_image(im));
  ASSERT_TRUE(back.ok()) << error_of(back);
  EXPECT_TRUE(*back == im);
}

TEST(ImageCodec, RoundTripExtremeValues) {
  ProcessImage im = make_image();
  im.pid = 0x7fffffff;
  im.comm = std::string(64, 'c'); // the longest comm the decoder takes
  im.cwd = "/" + std::string(4095, 'd');
  im.umask = 0777;
  im.xfeatures = ~0ull;
  im.creds.uid = {0xffffffffu, 0, 0xfffffffeu, 1};
  im.threads[0].xsave.assign(16384, 0xa5); // the largest XSAVE area accepted
  im.threads[0].regs.fill(~0ull);
  im.threads[0].sigmask = ~0ull;
  im.threads[0].tid = im.pid;
  for (auto &t : im.timers.posix)
    if (t.tid)
      t.tid = im.pid;
  im.threads[0].comm = std::string(15, 'n'); // the longest thread name
  im.threads[0].clear_child_tid = ~0ull;
  im.threads[0].altstack_sp = ~0ull;
  im.threads[0].altstack_size = ~0ull;
  im.threads[0].altstack_flags = static_cast<int32_t>(SS_ONSTACK | (1u << 31));
  im.threads.push_back(im.threads[0]);
  im.threads.back().tid = 4243;
  im.threads.back().xsave.clear(); // no XSAVE area at all is valid too
  for (auto &s : im.sigactions)
    s = {~0ull, ~0ull, ~0ull, ~0ull};
  im.pipes[0].data.assign(1 << 20, 0x5a);
  im.contents[0].size = 1ull << 40; // a huge sparse file
  im.contents[0].extents.push_back({(1ull << 40) - (1 << 20), std::vector<uint8_t>(1 << 20, 7)});
  im.eventfds[0].count = ~0ull - 1; // the largest count an eventfd holds
  im.timerfds[0].value_ns = im.timerfds[0].interval_ns = 1ull << 62;
  im.unix_sockets[0].queue.assign(1000, {1}); // many one-byte pieces
  im.unix_sockets[1].peek_off = 0x7fffffff;
  im.unix_sockets[2].queue.push_back(std::vector<uint8_t>(1 << 20, 0x42)); // a big datagram
  auto back = decode_image(encode_image(im));
  ASSERT_TRUE(back.ok()) << error_of(back);
  EXPECT_TRUE(*back == im);
}

TEST(ImageCodec, TotalPages) {
  EXPECT_EQ(total_pages({}), 0u);
  EXPECT_EQ(total_pages(make_image().pages), 1u + 3 + 0x1c + 1 + 16 + 1 + 2 + 3);
}

// --- hostile input -----------------------------------------------------------

TEST(ImageCodec, EveryTruncationFailsCleanly) {
  const auto bytes = encode_image(make_image());
  ASSERT_TRUE(decode_image(bytes).ok());
  for (size_t len = 0; len < bytes.size(); len++) {
    // A copy of exactly len bytes, so ASan sees any read past the end.
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
    auto r = decode_image(cut);
    ASSERT_FALSE(r.ok()) << "a truncation to " << len << " of " << bytes.size()
                         << " bytes decoded";
    ASSERT_EQ(r.error().code, LMIG_ERR_IMAGE) << len << ": " << r.error().message;
    ASSERT_FALSE(r.error().message.empty());
  }
}

TEST(ImageCodec, SingleByteFlipsNeverCrash) {
  const auto bytes = encode_image(make_image());
  size_t decoded = 0, rejected = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint8_t mask : {0x01, 0x80, 0xff}) {
    for (size_t i = 0; i < bytes.size(); i++) {
      auto bad = bytes;
      bad[i] ^= mask;
      auto r = decode_image(bad);
      if (r.ok()) {
        decoded++;
        auto st = validate_image(*r);
        ASSERT_TRUE(st.ok()) << "flip at " << i << " decoded to an invalid image: "
                             << error_of(st);
      } else {
        rejected++;
        ASSERT_EQ(r.error().code, LMIG_ERR_IMAGE) << i << ": " << r.error().message;
      }
    }
  }
  // Both outcomes occur: flips in register values decode, flips in lengths do not.
  EXPECT_GT(decoded, 0u);
  EXPECT_GT(rejected, 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
}

TEST(ImageCodec, RandomGarbageAndSplicesNeverCrash) {
  const auto bytes = encode_image(make_image());
  std::mt19937_64 rng(12345);
  for (int iter = 0; iter < 3000; iter++) {
    auto bad = bytes;
    switch (iter % 4) {
    case 0: // scribble a few random bytes
      for (int k = 0; k < 4; k++)
        bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
      break;
    case 1: { // a random 32-bit value somewhere (lengths, counts)
      size_t at = rng() % (bad.size() - 4);
      uint32_t v = static_cast<uint32_t>(rng());
      if (rng() % 2)
        v = 0xffffffffu - static_cast<uint32_t>(rng() % 64);
      std::memcpy(bad.data() + at, &v, 4);
      break;
    }
    case 2: { // cut a chunk out of the middle
      size_t at = 16 + rng() % (bad.size() - 32);
      size_t n = 1 + rng() % 64;
      bad.erase(bad.begin() + static_cast<std::ptrdiff_t>(at),
                bad.begin() + static_cast<std::ptrdiff_t>(std::min(at + n, bad.size())));
      break;
    }
    case 3: { // pure noise after a valid header
      bad.resize(16 + rng() % 512);
      for (size_t k = 16; k < bad.size(); k++)
        bad[k] = static_cast<uint8_t>(rng());
      break;
    }
    }
    auto r = decode_image(bad);
    if (r.ok()) {
      ASSERT_TRUE(validate_image(*r).ok());
    } else {
      ASSERT_EQ(r.error().code, LMIG_ERR_IMAGE) << r.error().message;
    }
  }
}

TEST(ImageCodec, SplitJoinIsLossless) {
  const auto bytes = encode_image(make_image());
  auto e = Encoded::split(bytes);
  EXPECT_EQ(e.sections.size(), 24u);
  EXPECT_EQ(e.nsections, 24u);
  EXPECT_EQ(e.join(), bytes);
}

TEST(ImageCodec, EmptyInput) {
  expect_image_error({}, "bad magic");
}

TEST(ImageCodec, TrailingBytesAreRejected) {
  auto bytes = encode_image(make_image());
  bytes.push_back(0);
  expect_image_error(bytes, "bytes after the last section");
}

TEST(ImageCodec, UnusedBytesInsideASectionAreRejected) {
  // Grow the first section (process) by one byte its reader never uses.
  auto bytes = encode_image(make_image());
  const size_t sec = 16; // magic + version + section count
  uint32_t len;
  std::memcpy(&len, bytes.data() + sec + 4, 4);
  len++;
  std::memcpy(bytes.data() + sec + 4, &len, 4);
  bytes.insert(bytes.begin() + static_cast<long>(sec + 8 + len - 1), 0);
  expect_image_error(bytes, "does not use");
}

TEST(ImageCodec, WrongMagic) {
  auto bytes = encode_image(make_image());
  bytes[0] = 'X';
  expect_image_error(bytes, "bad magic");
  bytes = encode_image(make_image());
  bytes[7] = '2';
  expect_image_error(bytes, "bad magic");
}

TEST(ImageCodec, WrongVersion) {
  auto e = Encoded::split(encode_image(make_image()));
  e.version = kImageVersion + 1;
  expect_image_error(e.join(), "version " + std::to_string(kImageVersion + 1) + " is not supported");
  e.version = 0;
  expect_image_error(e.join(), "version 0 is not supported");
}

TEST(ImageCodec, DuplicateSection) {
  for (uint16_t tag : {1, 3, 11}) {
    auto e = Encoded::split(encode_image(make_image()));
    Encoded::Section copy = e.tag(tag);
    e.sections.push_back(copy);
    e.nsections++;
    expect_image_error(e.join(), "section " + std::to_string(tag) + " appears twice");
  }
}

TEST(ImageCodec, EveryRequiredSectionIsRequired) {
  for (uint16_t tag : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24}) {
    auto e = Encoded::split(encode_image(make_image()));
    std::erase_if(e.sections, [&](const auto &s) { return s.tag == tag; });
    e.nsections--;
    expect_image_error(e.join(), "required section " + std::to_string(tag) + " is missing");
  }
}

TEST(ImageCodec, MissingSectionReplacedByUnknownOne) {
  auto e = Encoded::split(encode_image(make_image()));
  e.tag(10).tag = 99; // threads section renamed: skipped, then threads are missing
  expect_image_error(e.join(), "required section 10 is missing");
}

TEST(ImageCodec, SectionCountLargerThanSectionsPresent) {
  auto e = Encoded::split(encode_image(make_image()));
  e.nsections = 25;
  expect_image_error(e.join(), "truncated");
}

TEST(ImageCodec, HugeSectionCount) {
  auto e = Encoded::split(encode_image(make_image()));
  e.nsections = 0xffffffffu;
  expect_image_error(e.join(), "implausible");
}

TEST(ImageCodec, ZeroSections) {
  auto e = Encoded::split(encode_image(make_image()));
  e.nsections = 0;
  e.sections.clear();
  expect_image_error(e.join(), "required section 1 is missing");
}

TEST(ImageCodec, SectionLengthPastTheEnd) {
  auto bytes = encode_image(make_image());
  // the first section's length field: magic(8) version(4) count(4) tag(2) pad(2)
  put_u32(bytes, 20, 0x7fffffff);
  expect_image_error(bytes, "truncated");
}

TEST(ImageCodec, UnknownSectionIsSkipped) {
  const ProcessImage im = make_image();
  auto e = Encoded::split(encode_image(im));
  // A newer writer's sections: in the middle, at the end, empty, and one
  // whose body would be nonsense as any known section.
  e.sections.insert(e.sections.begin() + 4, Encoded::Section{77, 0, std::vector<uint8_t>(100, 0xff)});
  e.sections.push_back(Encoded::Section{0xffff, 0xabcd, {}});
  e.sections.push_back(Encoded::Section{99, 0, {0xff, 0xff, 0xff, 0xff, 1, 2, 3}});
  e.sections.insert(e.sections.begin(), Encoded::Section{0, 0, {9}});
  e.nsections += 4;
  auto r = decode_image(e.join());
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_TRUE(*r == im);
}

TEST(ImageCodec, SectionsInAnyOrder) {
  const ProcessImage im = make_image();
  auto e = Encoded::split(encode_image(im));
  std::reverse(e.sections.begin(), e.sections.end());
  auto r = decode_image(e.join());
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_TRUE(*r == im);
}

TEST(ImageCodec, ReservedSectionFieldIsIgnored) {
  const ProcessImage im = make_image();
  auto e = Encoded::split(encode_image(im));
  e.tag(3).pad = 0x1234;
  auto r = decode_image(e.join());
  ASSERT_TRUE(r.ok()) << error_of(r);
  EXPECT_TRUE(*r == im);
}

// Offsets of the element counts inside each section body.
struct CountField {
  uint16_t tag;
  size_t offset;
  const char *what;
};
constexpr CountField kCounts[] = {
    {2, 32, "groups"},  {3, 0, "VMAs"},     {4, 0, "files"},   {5, 0, "fds"},
    {6, 0, "pipes"},    {8, 0, "rlimits"},  {9, 88, "auxv"},   {10, 0, "threads"},
    {11, 0, "pages"},   {12, 0, "contents"}, {13, 0, "eventfds"}, {14, 0, "epolls"},
    {14, 8, "epoll watches"}, {15, 0, "signalfds"}, {16, 0, "timerfds"}, {17, 0, "inotifies"},
    {17, 8, "inotify watches"}, {18, 0, "unix sockets"}, {18, 32, "queued messages"},
    {20, 0, "seccomp threads"}, {20, 12, "seccomp filters"}, {20, 20, "filter instructions"},
    {23, 0, "shmem maps"},
};

TEST(ImageCodec, HugeElementCounts) {
  for (const auto &c : kCounts) {
    for (uint32_t n : {0xffffffffu, 0x80000000u, 0x00100001u}) {
      SCOPED_TRACE(std::string(c.what) + " count " + std::to_string(n));
      auto e = Encoded::split(encode_image(make_image()));
      put_u32(e.tag(c.tag).body, c.offset, n);
      expect_image_error(e.join(), "section " + std::to_string(c.tag) + ": element count " +
                                       std::to_string(n) + " is implausible");
    }
  }
}

TEST(ImageCodec, VmaCountOfAllOnesIsRejectedWithoutAllocating) {
  auto e = Encoded::split(encode_image(make_image()));
  put_u32(e.tag(3).body, 0, 0xffffffffu);
  expect_image_error(e.join(), "element count 4294967295 is implausible");
}

TEST(ImageCodec, CountOneLargerThanPresent) {
  for (const auto &c : kCounts) {
    SCOPED_TRACE(c.what);
    const auto bytes = encode_image(make_image());
    auto e = Encoded::split(bytes);
    auto &body = e.tag(c.tag).body;
    uint32_t n = 0;
    std::memcpy(&n, body.data() + c.offset, 4);
    put_u32(body, c.offset, n + 1);
    auto r = decode_image(e.join());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, LMIG_ERR_IMAGE);
    EXPECT_NE(r.error().message.find("section " + std::to_string(c.tag)), std::string::npos)
        << r.error().message;
  }
}

TEST(ImageCodec, TooManyRlimits) {
  ProcessImage im = make_image();
  im.rlimits.clear();
  for (uint32_t i = 0; i < 17; i++)
    im.rlimits.push_back({i % 16, 1, 2});
  expect_image_error(encode_image(im), "element count 17 is implausible");
}

TEST(ImageCodec, RlimitResourceOutOfRange) {
  ProcessImage im = make_image();
  im.rlimits[1].resource = 16;
  expect_image_error(encode_image(im), "rlimit resource 16 out of range");
}

TEST(ImageCodec, UnknownVmaKind) {
  ProcessImage im = make_image();
  im.vmas[4].kind = static_cast<VmaKind>(8);
  expect_image_error(encode_image(im), "unknown VMA kind 8");
}

TEST(ImageCodec, UnknownFileKind) {
  ProcessImage im = make_image();
  im.files[2].kind = static_cast<FileKind>(13);
  expect_image_error(encode_image(im), "unknown file kind 13");
}

TEST(ImageCodec, BooleanOutOfRange) {
  // fds section: count, then i32 fd, u32 file id, u8 cloexec
  auto e = Encoded::split(encode_image(make_image()));
  e.tag(5).body[4 + 8] = 2;
  expect_image_error(e.join(), "boolean out of range");
}

TEST(ImageCodec, ProcAttrsOutOfRange) {
  {
    ProcessImage im = make_image();
    im.attrs.dumpable = 3;
    expect_image_error(encode_image(im), "dumpable 3");
  }
  {
    ProcessImage im = make_image();
    im.attrs.pdeath_signal = 65;
    expect_image_error(encode_image(im), "parent-death signal 65");
  }
  {
    ProcessImage im = make_image();
    im.attrs.pdeath_signal = -1;
    expect_image_error(encode_image(im), "parent-death signal -1");
  }
  {
    // attrs section: personality u32, then no_new_privs u8
    auto e = Encoded::split(encode_image(make_image()));
    e.tag(19).body[4] = 7;
    expect_image_error(e.join(), "boolean out of range");
  }
}

TEST(ImageCodec, SeccompStateMustBeConsistent) {
  {
    ProcessImage im = make_image();
    im.seccomp[0].mode = 3;
    expect_image_error(encode_image(im), "seccomp mode 3");
  }
  {
    ProcessImage im = make_image(); // strict mode has no filters
    im.seccomp[0].mode = 1;
    expect_image_error(encode_image(im), "seccomp mode 1 with 2 filters");
  }
  {
    ProcessImage im = make_image();
    im.seccomp[0].filters.clear();
    expect_image_error(encode_image(im), "seccomp mode 2 with 0 filters");
  }
  {
    ProcessImage im = make_image();
    im.seccomp[0].filters[1].insns.clear();
    expect_image_error(encode_image(im), "an empty seccomp filter");
  }
  {
    ProcessImage im = make_image();
    im.seccomp[0].filters[0].insns.assign(kMaxSeccompInsns + 1, 6);
    expect_image_error(encode_image(im), "element count 4097 is implausible");
  }
  {
    ProcessImage im = make_image();
    im.seccomp[0].filters.assign(kMaxSeccompFilters + 1, im.seccomp[0].filters[1]);
    expect_image_error(encode_image(im), "element count 65 is implausible");
  }
  {
    ProcessImage im = make_image(); // strict mode alone, and a thread without seccomp
    im.seccomp[0].mode = 1;
    im.seccomp[0].filters.clear();
    im.seccomp.push_back({4243, 0, {}});
    auto back = decode_image(encode_image(im));
    ASSERT_TRUE(back.ok()) << error_of(back);
    EXPECT_EQ(back->seccomp, im.seccomp);
  }
}

TEST(ImageCodec, ShmemMapFlagOutOfRange) {
  // shmem maps section: count, then u64 start, u64 contents id, u8 anon
  auto e = Encoded::split(encode_image(make_image()));
  e.tag(23).body[4 + 16] = 2;
  expect_image_error(e.join(), "boolean out of range");
}

TEST(ImageCodec, OverlongStrings) {
  {
    ProcessImage im = make_image();
    im.comm = std::string(65, 'c');
    expect_image_error(encode_image(im), "length 65 exceeds limit 64");
  }
  {
    ProcessImage im = make_image();
    im.vmas[0].path = "/" + std::string(4096, 'p');
    expect_image_error(encode_image(im), "length 4097 exceeds limit 4096");
  }
  {
    ProcessImage im = make_image();
    im.threads[0].xsave.assign(16385, 0);
    expect_image_error(encode_image(im), "length 16385 exceeds limit 16384");
  }
}

TEST(ImageCodec, DecodeValidates) {
  ProcessImage im = make_image();
  std::swap(im.vmas[0], im.vmas[1]);
  expect_image_error(encode_image(im), "VMA 1: overlaps or is out of order");
}

// --- validate_image ------------------------------------------------------------

void expect_invalid(const ProcessImage &im, const std::string &needle) {
  auto st = validate_image(im);
  ASSERT_FALSE(st.ok()) << "accepted although it should mention: " << needle;
  EXPECT_EQ(st.error().code, LMIG_ERR_IMAGE);
  EXPECT_NE(st.error().message.find(needle), std::string::npos)
      << "message '" << st.error().message << "' does not mention '" << needle << "'";
  // and the same through the decoder
  auto r = decode_image(encode_image(im));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LMIG_ERR_IMAGE);
  EXPECT_EQ(r.error().message, st.error().message);
}

TEST(ValidateImage, PidMustBeRestorable) {
  ProcessImage im = make_image();
  im.pid = 1;
  expect_invalid(im, "pid 1 is not restorable");
  im.pid = -5;
  expect_invalid(im, "pid -5 is not restorable");
}

TEST(ValidateImage, NeedsAThread) {
  ProcessImage im = make_image();
  im.threads.clear();
  expect_invalid(im, "no threads");
}

TEST(ValidateImage, TheLeaderComesFirst) {
  ProcessImage im = make_image();
  im.threads.push_back(im.threads[0]);
  im.threads[0].tid = 4300;
  expect_invalid(im, "not the thread-group leader");
}

TEST(ValidateImage, TidsAreUnique) {
  ProcessImage im = make_image();
  im.threads[0].pending.clear(); // the decoder would see two queues for one TID first
  im.threads.push_back(im.threads[0]);
  expect_invalid(im, "TID not valid or not unique");
  im.threads.back().tid = 1;
  expect_invalid(im, "TID not valid or not unique");
  im.threads.back().tid = 4300;
  EXPECT_TRUE(validate_image(im).ok());
}

TEST(ValidateImage, RobustListHeadSize) {
  ProcessImage im = make_image();
  im.threads[0].robust_len = 4096;
  expect_invalid(im, "robust list of 4096 bytes");
  im.threads[0].robust_list = 0;
  EXPECT_TRUE(validate_image(im).ok());
}

TEST(ValidateImage, SigaltstackFlags) {
  ProcessImage im = make_image();
  im.threads[0].altstack_flags = 8;
  expect_invalid(im, "sigaltstack flags 8");
}

TEST(ImageCodec, OverlongThreadName) {
  ProcessImage im = make_image();
  im.threads[0].comm = std::string(16, 'x');
  EXPECT_FALSE(decode_image(encode_image(im)).ok());
}

TEST(ValidateImage, XsaveSize) {
  ProcessImage im = make_image();
  im.threads[0].xsave.resize(575);
  expect_invalid(im, "xsave area of 575 bytes");
  im.threads[0].xsave.resize(576);
  EXPECT_TRUE(validate_image(im).ok());
}

TEST(ValidateImage, OverlappingVmas) {
  ProcessImage im = make_image();
  im.vmas[5].start = im.vmas[4].end - kPage; // anon mapping overlaps the heap
  expect_invalid(im, "VMA 5: overlaps or is out of order");
}

TEST(ValidateImage, UnsortedVmas) {
  ProcessImage im = make_image();
  std::swap(im.vmas[9], im.vmas[13]);
  expect_invalid(im, "VMA 10: overlaps or is out of order");
}

TEST(ValidateImage, IdenticalVmasOverlap) {
  ProcessImage im = make_image();
  im.vmas.insert(im.vmas.begin() + 5, im.vmas[5]);
  im.pages.clear();
  expect_invalid(im, "VMA 6: overlaps or is out of order");
}

TEST(ValidateImage, AdjacentVmasAreFine) {
  ProcessImage im = make_image();
  ASSERT_EQ(im.vmas[0].end, im.vmas[1].start);
  EXPECT_TRUE(validate_image(im).ok());
}

TEST(ValidateImage, UnalignedVmas) {
  {
    ProcessImage im = make_image();
    im.vmas[4].start += 8;
    expect_invalid(im, "VMA 4: bad range");
  }
  {
    ProcessImage im = make_image();
    im.vmas[4].end -= 1;
    expect_invalid(im, "VMA 4: bad range");
  }
}

TEST(ValidateImage, EmptyOrInvertedVma) {
  {
    ProcessImage im = make_image();
    im.vmas[6].end = im.vmas[6].start;
    expect_invalid(im, "VMA 6: bad range");
  }
  {
    ProcessImage im = make_image();
    std::swap(im.vmas[6].start, im.vmas[6].end);
    expect_invalid(im, "VMA 6: bad range");
  }
}

TEST(ValidateImage, VmaBeyondUserSpace) {
  ProcessImage im = make_image();
  im.vmas.insert(im.vmas.end() - 1, vma(0x7ffffffff000ull, 0x800000000000ull, PROT_READ,
                                        VmaKind::anon, ""));
  expect_invalid(im, "bad range");
}

TEST(ValidateImage, BadProtection) {
  ProcessImage im = make_image();
  im.vmas[4].prot |= 0x10;
  expect_invalid(im, "VMA 4: bad protection");
}

TEST(ValidateImage, FileMappingWithRelativePath) {
  ProcessImage im = make_image();
  im.vmas[9].path = "usr/lib/x86_64-linux-gnu/libc.so.6";
  expect_invalid(im, "VMA 9: file mapping without an absolute path");
}

TEST(ValidateImage, SharedFileMappingWithoutPath) {
  ProcessImage im = make_image();
  im.vmas[8].path.clear();
  expect_invalid(im, "VMA 8: file mapping without an absolute path");
}

TEST(ValidateImage, FileMappingWithUnalignedOffset) {
  ProcessImage im = make_image();
  im.vmas[1].pgoff = 0x1001;
  expect_invalid(im, "VMA 1: file mapping without an absolute path or with an unaligned offset");
}

TEST(ValidateImage, AnonymousVmaNeedsNoPath) {
  ProcessImage im = make_image();
  im.vmas[4].path = "[anon:whatever]";
  im.vmas[5].path = "relative is fine for anon";
  EXPECT_TRUE(validate_image(im).ok());
}

TEST(ValidateImage, VsyscallIsNotRangeChecked) {
  ProcessImage im = make_image();
  ASSERT_EQ(im.vmas.back().kind, VmaKind::vsyscall);
  EXPECT_GT(im.vmas.back().end, 0x7ffffffff000ull);
  EXPECT_TRUE(validate_image(im).ok());
}

TEST(ValidateImage, FdNamingUnknownFile) {
  ProcessImage im = make_image();
  im.fds[4].file_id = 99;
  expect_invalid(im, "fd 4 names an unknown file");
}

TEST(ValidateImage, DuplicateFd) {
  ProcessImage im = make_image();
  im.fds.push_back({3, 1, false});
  expect_invalid(im, "fd 3 appears twice");
}

TEST(ValidateImage, FdOutOfRange) {
  {
    ProcessImage im = make_image();
    im.fds[0].fd = -1;
    expect_invalid(im, "fd -1 out of range");
  }
  {
    ProcessImage im = make_image();
    im.fds[0].fd = 1 << 20;
    expect_invalid(im, "fd 1048576 out of range");
  }
}

TEST(ValidateImage, DuplicateFileId) {
  ProcessImage im = make_image();
  im.files[6].id = 3;
  expect_invalid(im, "file 3 appears twice");
}

TEST(ValidateImage, RegularFileWithoutAbsolutePath) {
  ProcessImage im = make_image();
  im.files[1].path = "var/log/worker.log";
  expect_invalid(im, "file 2 has no absolute path");
  im.files[1].path.clear();
  expect_invalid(im, "file 2 has no absolute path");
}

TEST(ValidateImage, PipeFileNamingUnknownPipe) {
  ProcessImage im = make_image();
  im.files[5].pipe_id = 91009;
  expect_invalid(im, "file 6 names an unknown pipe");
}

TEST(ValidateImage, DuplicatePipe) {
  ProcessImage im = make_image();
  im.pipes[1].id = im.pipes[0].id;
  expect_invalid(im, "pipe 91001 appears twice");
}

TEST(ValidateImage, PageRunOutsideAnyVma) {
  ProcessImage im = make_image();
  im.pages.insert(im.pages.begin() + 3, {kHeap + 0x30000, 1}); // between heap and mmap area
  expect_invalid(im, "page run at 0x5555555b0000 lies outside the memory it belongs to");
}

TEST(ValidateImage, PageRunBeyondLastVma) {
  ProcessImage im = make_image();
  im.vmas.pop_back(); // no [vsyscall]
  im.pages.push_back({kVvar + 0x100000, 1});
  expect_invalid(im, "lies outside the memory it belongs to");
}

TEST(ValidateImage, PageRunBelowFirstVma) {
  ProcessImage im = make_image();
  im.pages.insert(im.pages.begin(), {0x10000, 1});
  expect_invalid(im, "page run at 0x10000 lies outside");
}

TEST(ValidateImage, PageRunStraddlingVmaEnd) {
  ProcessImage im = make_image();
  im.pages[2].npages++; // heap run one page past the heap's end
  expect_invalid(im, "lies outside the memory it belongs to");
}

TEST(ValidateImage, PageRunSpanningTwoVmas) {
  ProcessImage im = make_image();
  // kMmapAnon .. +0x41000 covers two adjacent anon VMAs (0x40000 + PROT_NONE page)
  im.pages = {{kMmapAnon, 0x41}};
  expect_invalid(im, "lies outside the memory it belongs to");
}

TEST(ValidateImage, PageRunInsideSharedFileVma) {
  ProcessImage im = make_image();
  im.pages.insert(im.pages.begin() + 6, {kShm + kPage, 1});
  expect_invalid(im, "page run at 0x7f1234601000 lies outside the memory it belongs to");
}

TEST(ValidateImage, PageRunInsideVdsoOrVvar) {
  for (uint64_t addr : {kVvar, kVvar + 0x4000, kVvar + 0x6000}) {
    ProcessImage im = make_image();
    im.pages.push_back({addr, 1});
    expect_invalid(im, "lies outside the memory it belongs to");
  }
}

TEST(ValidateImage, PageRunInsidePrivateFileVmaIsFine) {
  ProcessImage im = make_image();
  im.pages.insert(im.pages.begin(), {kExe, 1});
  EXPECT_TRUE(validate_image(im).ok()) << error_of(validate_image(im));
}

TEST(ValidateImage, PageRunCoveringAWholeVma) {
  ProcessImage im = make_image();
  im.pages = {{kHeap, 0x21}};
  EXPECT_TRUE(validate_image(im).ok()) << error_of(validate_image(im));
}

TEST(ValidateImage, MalformedPageRuns) {
  {
    ProcessImage im = make_image();
    im.pages[1].addr += 16;
    expect_invalid(im, "is malformed or out of order");
  }
  {
    ProcessImage im = make_image();
    im.pages[1].npages = 0;
    expect_invalid(im, "is malformed or out of order");
  }
  {
    ProcessImage im = make_image();
    std::swap(im.pages[1], im.pages[3]);
    expect_invalid(im, "is malformed or out of order");
  }
  {
    ProcessImage im = make_image();
    im.pages[1].npages = 6; // overlaps the next run (heap + 0x5000)
    expect_invalid(im, "is malformed or out of order");
  }
  {
    ProcessImage im = make_image();
    im.pages.back().npages = ~0ull;
    expect_invalid(im, "is malformed or out of order");
  }
}

TEST(ValidateImage, PageRunNearTheTopOfTheAddressSpace) {
  ProcessImage im = make_image();
  // addr + npages * 4096 would wrap around: must be refused, not wrap into a VMA.
  im.pages.push_back({0xfffffffffffff000ull, 1});
  expect_invalid(im, "lies outside");
  im.pages.back() = {0xffffffffff600000ull, 1}; // inside [vsyscall]
  expect_invalid(im, "lies outside");
}

// --- the fd state --------------------------------------------------------------

TEST(ValidateImage, PipeBothAnonymousAndFifo) {
  ProcessImage im = make_image();
  im.files[7].pipe_id = 91001; // a FIFO end on an anonymous pipe's buffer
  expect_invalid(im, "pipe 91001 is both anonymous and a FIFO");
}

TEST(ValidateImage, FifoNeedsAPath) {
  ProcessImage im = make_image();
  im.files[7].path = "run/worker/control";
  expect_invalid(im, "file 8 has no absolute path");
}

TEST(ValidateImage, ShmemMaps) {
  auto shmem_vma = [](const ProcessImage &im) {
    for (size_t i = 0; i < im.vmas.size(); i++)
      if (im.vmas[i].kind == VmaKind::shmem)
        return i;
    return im.vmas.size();
  };
  {
    ProcessImage im = make_image();
    im.shmem_maps.pop_back();
    expect_invalid(im, "does not say which memory it maps");
  }
  {
    ProcessImage im = make_image();
    std::swap(im.shmem_maps[0], im.shmem_maps[1]); // out of VMA order
    expect_invalid(im, "does not say which memory it maps");
  }
  {
    ProcessImage im = make_image();
    im.shmem_maps.push_back({kHeap, 503, true});
    expect_invalid(im, "a shmem mapping record names no shmem VMA");
  }
  {
    ProcessImage im = make_image();
    im.shmem_maps[1].contents_id = 999;
    expect_invalid(im, "names unknown contents");
  }
  {
    ProcessImage im = make_image();
    im.shmem_maps[1].contents_id = 501; // a deleted file's inode
    expect_invalid(im, "maps the contents of a file of another kind");
  }
  {
    ProcessImage im = make_image();
    im.shmem_maps[0].anon = true; // a memfd's inode taken for shared anonymous memory
    expect_invalid(im, "maps the contents of a file of another kind");
  }
  {
    ProcessImage im = make_image();
    im.shmem_maps[0].contents_id = 503;
    im.shmem_maps[0].anon = false; // one inode, two natures
    expect_invalid(im, "both as a memfd and as shared anonymous memory");
  }
  {
    ProcessImage im = make_image();
    im.vmas[shmem_vma(im)].pgoff = 100;
    expect_invalid(im, "unaligned offset");
  }
  {
    ProcessImage im = make_image();
    im.vmas[4].vm_flags |= 1u << 20;
    expect_invalid(im, "VMA 4: unknown flags");
  }
}

TEST(ValidateImage, MlockallFlags) {
  ProcessImage im = make_image();
  im.mlockall_flags = MCL_CURRENT | MCL_FUTURE; // MCL_CURRENT is the VMAs' own flags
  expect_invalid(im, "mlockall flags");
  im.mlockall_flags = MCL_FUTURE;
  EXPECT_TRUE(validate_image(im).ok());
}

TEST(ValidateImage, ContentsReferences) {
  {
    ProcessImage im = make_image();
    im.files[9].contents_id = 599;
    expect_invalid(im, "file 10 names unknown contents");
  }
  {
    ProcessImage im = make_image();
    im.files[11].contents_id = 501; // a memfd on a deleted file's inode
    expect_invalid(im, "contents 501 belong to both a memfd and a deleted file");
  }
  {
    ProcessImage im = make_image();
    im.contents[1].id = 501;
    expect_invalid(im, "contents 501 appear twice");
  }
}

TEST(ValidateImage, ContentsExtents) {
  struct Case {
    std::vector<ExtentImage> extents;
    const char *needle;
  } cases[] = {
      {{{0, {1}}, {0, {2}}}, "extent at 0 is empty, out of order or past the end"},
      {{{0, {1, 2, 3}}, {2, {4}}}, "extent at 2 is empty, out of order or past the end"},
      {{{100, {}}}, "extent at 100 is empty"},
      {{{(1 << 20) - 1, {1, 2}}}, "past the end"},
      {{{~0ull, {1}}}, "past the end"},
  };
  for (const auto &c : cases) {
    ProcessImage im = make_image();
    im.contents[0].extents = c.extents;
    expect_invalid(im, c.needle);
  }
  ProcessImage im = make_image();
  im.contents[0].mode = 010000;
  expect_invalid(im, "mode has bits beyond 07777");
  im = make_image();
  im.contents[0].size = 1ull << 51;
  expect_invalid(im, "size 2251799813685248 is implausible");
}

TEST(ValidateImage, ContentsDataLimit) {
  ProcessImage im = make_image();
  im.contents[0].size = 1ull << 30;
  im.contents[0].extents = {{0, std::vector<uint8_t>(kMaxFileContents, 1)},
                            {kMaxFileContents + 4096, {1}}};
  expect_invalid(im, "bytes of data exceed the limit");
}

TEST(ValidateImage, EveryKindHasItsRecord) {
  {
    ProcessImage im = make_image();
    im.eventfds.clear();
    expect_invalid(im, "file 13 (eventfd) has no eventfd record");
  }
  {
    ProcessImage im = make_image();
    im.timerfds.push_back(im.timerfds[0]);
    expect_invalid(im, "file 16 has two timerfd records");
  }
  {
    ProcessImage im = make_image();
    im.signalfds[0].file_id = 13;
    expect_invalid(im, "signalfd record names file 13, which is not a signalfd");
  }
  {
    ProcessImage im = make_image();
    im.epolls[0].file_id = 99;
    expect_invalid(im, "epoll record names file 99, which is not an epoll");
  }
  {
    ProcessImage im = make_image();
    im.files[16].kind = FileKind::epoll; // the inotify file: an epoll without a record
    expect_invalid(im, "file 17 (epoll) has no epoll record");
  }
}

TEST(ValidateImage, EventfdCount) {
  ProcessImage im = make_image();
  im.eventfds[0].count = ~0ull;
  expect_invalid(im, "eventfd of file 13: count out of range");
}

TEST(ValidateImage, EpollWatches) {
  ProcessImage im = make_image();
  im.epolls[0].watches[1].fd = 29;
  expect_invalid(im, "epoll of file 14 watches fd 29, which the image does not have");
  im = make_image();
  im.epolls[0].watches[1].fd = 13;
  expect_invalid(im, "epoll of file 14 watches fd 13 twice");
}

TEST(ValidateImage, TimerfdValues) {
  struct Case {
    int32_t clock;
    uint32_t flags;
    uint64_t value;
    const char *needle;
  } cases[] = {
      {CLOCK_PROCESS_CPUTIME_ID, 0, 1, "clock 2 is not a timerfd clock"},
      {-1, 0, 1, "clock -1 is not a timerfd clock"},
      {CLOCK_MONOTONIC, 4, 1, "unknown settime flags"},
      {CLOCK_MONOTONIC, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, 1,
       "cancel-on-set needs an absolute real-time timer"},
      {CLOCK_REALTIME, TFD_TIMER_CANCEL_ON_SET, 1, "cancel-on-set needs"},
      {CLOCK_MONOTONIC, 0, (1ull << 62) + 1, "time out of range"},
  };
  for (const auto &c : cases) {
    ProcessImage im = make_image();
    im.timerfds[0].clockid = c.clock;
    im.timerfds[0].settime_flags = c.flags;
    im.timerfds[0].value_ns = c.value;
    expect_invalid(im, c.needle);
  }
  ProcessImage im = make_image();
  im.timerfds[0].clockid = CLOCK_REALTIME_ALARM;
  im.timerfds[0].settime_flags = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;
  EXPECT_TRUE(validate_image(im).ok()) << error_of(validate_image(im));
}

TEST(ValidateImage, InotifyWatches) {
  ProcessImage im = make_image();
  std::swap(im.inotifies[0].watches[0], im.inotifies[0].watches[1]);
  expect_invalid(im, "inotify of file 17: watch 1 is out of range or out of order");
  im = make_image();
  im.inotifies[0].watches[1].wd = 1;
  expect_invalid(im, "watch 1 is out of range or out of order");
  im = make_image();
  im.inotifies[0].watches[0].wd = 0;
  expect_invalid(im, "watch 0 is out of range");
  im = make_image();
  im.inotifies[0].watches[1].wd = kMaxInotifyWd + 1;
  expect_invalid(im, "is out of range");
  im = make_image();
  im.inotifies[0].watches[0].path = "home/user";
  expect_invalid(im, "inotify of file 17: watch 1 has no absolute path");
}

TEST(ValidateImage, UnixSocketPairs) {
  ProcessImage im = make_image();
  im.unix_sockets[1].peer_file_id = 20;
  expect_invalid(im, "unix socket of file 18: its peer is not a matching unix socket");
  im = make_image();
  im.unix_sockets[0].peer_file_id = 18;
  expect_invalid(im, "unix socket of file 18: its peer is not a matching unix socket");
  im = make_image();
  im.unix_sockets[2].type = SOCK_STREAM; // pair of different types
  expect_invalid(im, "its peer is not a matching unix socket");
  im = make_image();
  im.unix_sockets[0].type = im.unix_sockets[1].type = SOCK_RAW;
  expect_invalid(im, "type 3 is not supported");
  im = make_image();
  im.unix_sockets[0].shutdown = 4;
  expect_invalid(im, "shutdown or peek offset out of range");
  im = make_image();
  im.unix_sockets[0].peek_off = -2;
  expect_invalid(im, "shutdown or peek offset out of range");
  im = make_image();
  im.unix_sockets[0].queue.push_back({});
  expect_invalid(im, "unix socket of file 18: empty piece of a stream");
  im = make_image();
  im.unix_sockets[3].queue.push_back({}); // a zero-length message is fine
  EXPECT_TRUE(validate_image(im).ok()) << error_of(validate_image(im));
}


// --- pending signals and timers ----------------------------------------------

TEST(ImageCodec, PendingSignalsAndTimersRoundTrip) {
  const ProcessImage im = make_image();
  ASSERT_FALSE(im.shared_pending.empty());
  auto back = decode_image(encode_image(im));
  ASSERT_TRUE(back.ok()) << error_of(back);
  EXPECT_TRUE(back->shared_pending == im.shared_pending);
  EXPECT_TRUE(back->threads.front().pending == im.threads.front().pending);
  EXPECT_TRUE(back->timers == im.timers);
}

TEST(ImageCodec, QueuedSignalOutOfRangeIsRejected) {
  for (int32_t sig : {0, 9, 19, 65, -1}) {
    ProcessImage im = make_image();
    std::memcpy(im.shared_pending[0].raw.data(), &sig, 4);
    expect_image_error(encode_image(im), "cannot be queued");
  }
}

TEST(ImageCodec, SignalsQueuedForAnUnknownThreadAreRejected) {
  ProcessImage im = make_image();
  im.threads.front().pending.clear();
  auto e = Encoded::split(encode_image(im));
  // the thread queue count and tid come after the shared queue
  auto &body = e.tag(21).body;
  size_t at = 4 + im.shared_pending.size() * 128 + 4;
  put_u32(body, at, 999999);
  expect_image_error(e.join(), "which it does not have");
}

TEST(ImageCodec, HostileTimersAreRejected) {
  auto with = [](auto change, const std::string &needle) {
    ProcessImage im = make_image();
    change(im.timers.posix);
    expect_image_error(encode_image(im), needle);
  };
  with([](auto &p) { p[1].clockid = CLOCK_PROCESS_CPUTIME_ID; }, "cannot be restored");
  with([](auto &p) { p[1].id = 0; }, "out of order");
  with([](auto &p) { p[1].notify = SIGEV_THREAD; }, "cannot be restored");
  with([](auto &p) { p[1].signo = 9; }, "signal 9");
  with([](auto &p) { p[2].tid = 1; }, "which it does not have");
  with([](auto &p) { p[0].signal_pending = true; }, "SIGEV_NONE");
  with([](auto &p) { p[1].overrun_last = -1; }, "negative overrun");
  with([](auto &p) { p[1].value_ns = ~0ull; }, "century");
  ProcessImage im = make_image();
  im.timers.itimers[1].interval_ns = ~0ull;
  expect_image_error(encode_image(im), "century");
}

TEST(ImageCodec, QueuedSignalCountIsBounded) {
  auto e = Encoded::split(encode_image(make_image()));
  put_u32(e.tag(21).body, 0, 0xffffffffu);
  expect_image_error(e.join(), "implausible");
}

} // namespace
} // namespace lmig

// --- files shared with the rest of a process tree -------------------------------

namespace lmig {
namespace {

// The realistic image plus files it shares with its tree: the read end of
// a pipe another member writes, and an eventfd (no records of their own).
ProcessImage image_with_shared_files() {
  ProcessImage im = make_image();
  FileImage rd = file(22, FileKind::pipe, "", O_RDONLY);
  rd.shared_slot = 0;
  FileImage ev = file(23, FileKind::eventfd, "", O_RDWR);
  ev.shared_slot = 7;
  im.files.push_back(rd);
  im.files.push_back(ev);
  im.fds.push_back({40, 22, false});
  im.fds.push_back({41, 23, true});
  im.fds.push_back({42, 23, false}); // a dup of it
  return im;
}

TEST(SharedFiles, RoundTrip) {
  const ProcessImage im = image_with_shared_files();
  ASSERT_TRUE(validate_image(im).ok()) << error_of(validate_image(im));
  auto back = decode_image(encode_image(im));
  ASSERT_TRUE(back.ok()) << error_of(back);
  EXPECT_EQ(back->files, im.files);
}

TEST(SharedFiles, OneSlotPerFileAndNoSharedEpoll) {
  ProcessImage im = image_with_shared_files();
  im.files.back().shared_slot = 0;
  expect_invalid(im, "shared slot 0 is named twice");
  im = image_with_shared_files();
  im.files.back().kind = FileKind::epoll;
  expect_invalid(im, "an epoll instance cannot be shared");
  im = image_with_shared_files();
  im.files.back().shared_slot = kMaxSharedSlots;
  EXPECT_FALSE(decode_image(encode_image(im)).ok());
}

// The tree's files: fd state only, numbered by slot.
ProcessImage tree_files() {
  ProcessImage t;
  t.pid = 0;
  t.files = {file(1, FileKind::pipe, "", O_RDONLY, 0, 5, false),
             file(2, FileKind::pipe, "", O_WRONLY, 0, 5, true),
             file(3, FileKind::regular, "/var/log/shared.log", O_WRONLY, 77)};
  t.fds = {{0, 1, false}, {1, 2, false}, {2, 3, false}};
  PipeImage p;
  p.id = 5;
  p.capacity = 65536;
  p.data = {'h', 'i'};
  t.pipes = {p};
  return t;
}

TEST(SharedFiles, TreeFilesRoundTrip) {
  const ProcessImage t = tree_files();
  auto back = decode_tree_files(encode_image(t));
  ASSERT_TRUE(back.ok()) << error_of(back);
  EXPECT_TRUE(*back == t);
}

TEST(SharedFiles, SharedMemoryIsNamedNotCarried) {
  ProcessImage im = image_with_shared_files();
  ContentsImage shm;
  shm.id = 900;
  shm.shared_slot = 3;
  im.contents.push_back(shm);
  ASSERT_TRUE(validate_image(im).ok()) << error_of(validate_image(im));
  auto back = decode_image(encode_image(im));
  ASSERT_TRUE(back.ok()) << error_of(back);
  EXPECT_EQ(back->contents, im.contents);
  im.contents.back().extents.push_back({0, {1, 2, 3}});
  expect_invalid(im, "shared with the tree, yet carried here");
  // The tree's files carry it: shared anonymous memory, made by mmap.
  ProcessImage t = tree_files();
  ContentsImage anon;
  anon.id = 9;
  anon.size = 8192;
  anon.anon = true;
  anon.extents.push_back({4096, std::vector<uint8_t>(4096, 0x5a)});
  t.contents.push_back(anon);
  FileImage f = file(4, FileKind::memfd, "", O_RDWR);
  f.contents_id = 9;
  t.files.push_back(f);
  t.fds.push_back({3, 4, true});
  auto tb = decode_tree_files(encode_image(t));
  ASSERT_TRUE(tb.ok()) << error_of(tb);
  EXPECT_TRUE(*tb == t);
}

TEST(SharedFiles, TreeFilesCarryNoProcessState) {
  ProcessImage t = tree_files();
  t.threads.resize(1);
  t.threads[0].tid = 5;
  EXPECT_FALSE(decode_tree_files(encode_image(t)).ok());
  t = tree_files();
  t.files[2].shared_slot = 1; // shared twice over
  EXPECT_FALSE(decode_tree_files(encode_image(t)).ok());
  t = tree_files();
  t.fds[2].fd = kMaxSharedSlots;
  EXPECT_FALSE(decode_tree_files(encode_image(t)).ok());
  t = tree_files();
  t.files[0].pipe_id = 6; // a pipe it does not carry
  EXPECT_FALSE(decode_tree_files(encode_image(t)).ok());
  // and a process image is not the tree's files
  EXPECT_FALSE(decode_tree_files(encode_image(make_image())).ok());
}

} // namespace
} // namespace lmig
