// The image: everything captured from a frozen process except its pages.
// Built by capture on the source, encoded for the wire, decoded and
// validated on the target before anything is restored.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lmig {

// 2: files carry a contents id; sections for memfd/deleted-file contents,
// eventfd, epoll, signalfd, timerfd, inotify and unix sockets.
// 3: threads carry their name, clear_child_tid, robust list and sigaltstack.
// 4: files may be shared with other processes of a tree (shared_slot).
inline constexpr uint32_t kImageVersion = 5;

// How many open files the processes of one tree may share.
inline constexpr int32_t kMaxSharedSlots = 1 << 16;

// Limits an image keeps to: the decoder enforces them, capture refuses by
// name what exceeds them.
inline constexpr uint64_t kMaxFileContents = 64ull << 20; // data bytes of one memfd or deleted file
inline constexpr uint64_t kMaxSocketQueue = 64ull << 20;  // bytes queued at one socket end
inline constexpr int32_t kMaxInotifyWd = 1 << 16;         // watch descriptors are re-made in order

enum class VmaKind : uint8_t {
  anon = 0,        // private anonymous (heap, stack, mmap)
  file_private = 1,
  file_shared = 2,
  vdso = 3,
  vvar = 4,
  vvar_vclock = 5,
  vsyscall = 6,
  shmem = 7,       // MAP_SHARED of a shmem inode (shared anonymous, memfd): see ShmemMapImage
};
inline constexpr uint8_t kLastVmaKind = static_cast<uint8_t>(VmaKind::shmem);

struct VmaImage {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t pgoff = 0;     // file offset in bytes
  uint32_t prot = 0;      // PROT_*
  uint32_t vm_flags = 0;  // VmaFlag bits
  VmaKind kind = VmaKind::anon;
  std::string path;       // file mappings; for anon the name ([heap], [stack])
  uint64_t file_size = 0; // size of the file at capture, checked on the target
  bool operator==(const VmaImage &) const = default;
};

enum VmaFlag : uint32_t {
  kVmaGrowsDown = 1u << 0,
  kVmaMayWrite = 1u << 1,
  kVmaNoReserve = 1u << 2,
  kVmaLocked = 1u << 3,
  kVmaHugePage = 1u << 4,   // MADV_HUGEPAGE
  kVmaNoHugePage = 1u << 5, // MADV_NOHUGEPAGE
  kVmaDontFork = 1u << 6,   // MADV_DONTFORK
  kVmaWipeOnFork = 1u << 7, // MADV_WIPEONFORK
  kVmaDontDump = 1u << 8,   // MADV_DONTDUMP
  kVmaLockOnFault = 1u << 9, // mlock2(MLOCK_ONFAULT)
  kVmaSeqRead = 1u << 10,     // MADV_SEQUENTIAL
  kVmaRandRead = 1u << 11,    // MADV_RANDOM
  kVmaMaybeGuards = 1u << 12, // guard regions were installed in it (VmFlags gu)
};
inline constexpr uint32_t kVmaAllFlags = (1u << 13) - 1;

// A VMA of kind shmem: which inode it maps. Its bytes are a ContentsImage,
// the same one every other mapping and every fd of that inode names, so
// that on the target they all share one inode again.
struct ShmemMapImage {
  uint64_t start = 0;       // the VMA's start
  uint64_t contents_id = 0;
  bool anon = false;        // shared anonymous memory; else a memfd
  bool operator==(const ShmemMapImage &) const = default;
};

enum class FileKind : uint8_t {
  regular = 0,
  directory = 1,
  char_device = 2,
  pipe = 3,
  fifo = 4,        // named pipe: reopened by path; its buffer is a PipeImage
  deleted = 5,     // regular file unlinked while open: its bytes are a ContentsImage
  memfd = 6,       // its bytes and seals are a ContentsImage
  eventfd = 7,     // EventfdImage
  epoll = 8,       // EpollImage
  signalfd = 9,    // SignalfdImage
  timerfd = 10,    // TimerfdImage
  inotify = 11,    // InotifyImage
  unix_socket = 12, // UnixSocketImage (one end of a pair the process holds)
};
inline constexpr uint8_t kLastFileKind = static_cast<uint8_t>(FileKind::unix_socket);

// What a kind is called in messages ("fd 4 (timerfd): ...").
const char *file_kind_name(FileKind kind);

// One open file description; several fds may share it (dup).
struct FileImage {
  uint32_t id = 0;
  FileKind kind = FileKind::regular;
  std::string path;    // regular/dir/char device/fifo; deleted: where it lived
  uint32_t flags = 0;  // open flags (O_ACCMODE | O_APPEND | O_NONBLOCK ...)
  uint64_t pos = 0;
  uint64_t pipe_id = 0;    // pipe/fifo: its PipeImage, shared by every end
  bool pipe_write_end = false;
  uint64_t size = 0;       // regular: size at capture, checked on the target
  uint64_t contents_id = 0; // deleted/memfd: its ContentsImage, shared by every open of it
  // Shared with other processes of the tree: the open file (and what it
  // holds: a pipe, a socket pair, an inode) is made once, by the tree's
  // root, in this slot of the tree's files; this process inherits it. No
  // kind record or pipe, contents or socket of this image describes it.
  int32_t shared_slot = -1;
  // Signal-driven I/O: the owner (F_SETOWN_EX type and ID as the process
  // sees it; owner 0: none) and the signal (F_SETSIG; 0: SIGIO).
  uint32_t owner_type = 0;
  int32_t owner = 0;
  int32_t signal = 0;
  bool operator==(const FileImage &) const = default;
};

struct FdImage {
  int32_t fd = 0;
  uint32_t file_id = 0;
  bool cloexec = false;
  bool operator==(const FdImage &) const = default;
};

// The buffer of an anonymous pipe or of a FIFO.
struct PipeImage {
  uint64_t id = 0;          // names it within the image
  uint32_t capacity = 0;    // F_GETPIPE_SZ
  std::vector<uint8_t> data; // bytes buffered when frozen
  bool operator==(const PipeImage &) const = default;
};

// Bytes at an offset: the data of a sparse file, holes left out.
struct ExtentImage {
  uint64_t offset = 0;
  std::vector<uint8_t> data;
  bool operator==(const ExtentImage &) const = default;
};

// The inode behind a memfd or a deleted file: its bytes travel in the image.
struct ContentsImage {
  uint64_t id = 0;
  std::string name;   // memfd: the name given to memfd_create
  uint64_t size = 0;
  uint32_t mode = 0;  // permission bits (07777)
  uint32_t uid = 0, gid = 0;
  uint32_t seals = 0; // memfd: F_GET_SEALS
  int64_t atime_sec = 0, mtime_sec = 0; // access and modification times
  uint32_t atime_nsec = 0, mtime_nsec = 0;
  std::vector<ExtentImage> extents; // sorted, disjoint, inside size
  // The tree's files: shared anonymous memory (made by mmap, not memfd).
  bool anon = false;
  // Mapped by other processes of the tree too: the inode is made by the
  // tree's root and waits in this slot of the tree's files (no data here).
  int32_t shared_slot = -1;
  bool operator==(const ContentsImage &) const = default;
};

struct EventfdImage {
  uint32_t file_id = 0;
  uint64_t count = 0;
  bool semaphore = false; // EFD_SEMAPHORE
  bool operator==(const EventfdImage &) const = default;
};

// One entry of an epoll interest list: the watched file is the one at fd.
struct EpollWatchImage {
  int32_t fd = 0;
  uint32_t events = 0; // EPOLLIN ... | EPOLLET | EPOLLONESHOT (a fired one-shot keeps only flags)
  uint64_t data = 0;
  bool operator==(const EpollWatchImage &) const = default;
};

struct EpollImage {
  uint32_t file_id = 0;
  std::vector<EpollWatchImage> watches;
  bool operator==(const EpollImage &) const = default;
};

struct SignalfdImage {
  uint32_t file_id = 0;
  uint64_t mask = 0; // bit (sig-1)
  bool operator==(const SignalfdImage &) const = default;
};

// A timerfd. Its deadline is kept relative to a wall-clock reading taken
// with it: the target re-arms it for what is left of value_ns after the
// wall-clock time that has passed since, and counts the expirations missed
// in between, so it fires when it would have on the source.
struct TimerfdImage {
  uint32_t file_id = 0;
  int32_t clockid = 0;
  uint32_t settime_flags = 0; // TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET
  uint64_t ticks = 0;         // expirations not read yet
  uint64_t value_ns = 0;      // time to the next expiration (0: disarmed)
  uint64_t interval_ns = 0;
  uint64_t captured_ns = 0;   // CLOCK_REALTIME when value_ns was read
  bool operator==(const TimerfdImage &) const = default;
};

struct InotifyWatchImage {
  int32_t wd = 0;
  uint32_t mask = 0; // IN_* events | IN_ONESHOT | IN_EXCL_UNLINK ...
  std::string path;  // the watched inode's path
  bool operator==(const InotifyWatchImage &) const = default;
};

struct InotifyImage {
  uint32_t file_id = 0;
  std::vector<InotifyWatchImage> watches; // sorted by wd
  bool operator==(const InotifyImage &) const = default;
};

// One end of a connected pair of unix sockets, both held by the process.
struct UnixSocketImage {
  uint32_t file_id = 0;
  uint32_t peer_file_id = 0;
  uint32_t type = 0;     // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
  uint32_t sndbuf = 0;   // SO_SNDBUF / SO_RCVBUF as getsockopt reports them
  uint32_t rcvbuf = 0;
  int32_t peek_off = -1; // SO_PEEK_OFF
  uint32_t shutdown = 0; // 1: no more receiving, 2: no more sending
  // What waits to be received at this end: one entry per message (stream:
  // the bytes, in one or more pieces).
  std::vector<std::vector<uint8_t>> queue;
  bool operator==(const UnixSocketImage &) const = default;
};

struct SigactionImage {
  uint64_t handler = 0;
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
  bool operator==(const SigactionImage &) const = default;
};

struct RlimitImage {
  uint32_t resource = 0;
  uint64_t cur = 0;
  uint64_t max = 0;
  bool operator==(const RlimitImage &) const = default;
};

struct MmImage {
  uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0, start_brk = 0, brk = 0,
           start_stack = 0, arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  std::vector<uint64_t> auxv;
  std::string exe_path;
  bool operator==(const MmImage &) const = default;
};

// One queued signal as PTRACE_PEEKSIGINFO shows it: the kernel's 128-byte
// siginfo (si_signo, si_errno, si_code, then the union: si_pid/si_uid,
// si_value, si_timerid ...), re-queued as it is on the target.
struct SiginfoImage {
  std::array<uint8_t, 128> raw{};
  int32_t signo() const;
  int32_t code() const;
  bool operator==(const SiginfoImage &) const = default;
};
inline constexpr uint32_t kMaxQueuedSignals = 65536; // per queue, enforced by the decoder
inline constexpr int32_t kSiTimer = -2;               // SI_TIMER: a POSIX timer's own signal

// x86-64 user_regs_struct, 27 words, in kernel order.
using RegsImage = std::array<uint64_t, 27>;

// One thread; the thread-group leader comes first.
struct ThreadImage {
  int32_t tid = 0;             // as the process sees it (innermost PID namespace)
  RegsImage regs{};
  std::vector<uint8_t> xsave;  // PTRACE_GETREGSET NT_X86_XSTATE
  uint64_t sigmask = 0;
  uint64_t rseq_addr = 0; // rseq registration (0: none)
  uint32_t rseq_len = 0;
  uint32_t rseq_sig = 0;
  std::string comm;             // the thread's own name (PR_SET_NAME), up to 15 bytes
  uint64_t clear_child_tid = 0; // set_tid_address: cleared and woken when the thread exits
  uint64_t robust_list = 0;     // set_robust_list head (0: none)
  uint64_t robust_len = 0;
  uint64_t altstack_sp = 0;     // sigaltstack
  uint64_t altstack_size = 0;
  int32_t altstack_flags = 2;   // SS_DISABLE: none
  // Scheduling, per thread: the policy (with SCHED_RESET_ON_FORK), its
  // real-time priority, the nice value.
  uint32_t sched_policy = 0;
  uint32_t sched_priority = 0;
  int32_t nice = 0;
  std::vector<SiginfoImage> pending; // this thread's own queue (tgkill ...), oldest first
  bool operator==(const ThreadImage &) const = default;
};

struct CredsImage {
  std::array<uint32_t, 4> uid{}; // real, effective, saved, fs
  std::array<uint32_t, 4> gid{};
  std::vector<uint32_t> groups;
  bool operator==(const CredsImage &) const = default;
};

// Capability sets (bit n: capability n), as /proc/PID/status shows them.
struct CapsImage {
  uint64_t inheritable = 0, permitted = 0, effective = 0, bounding = 0, ambient = 0;
  bool operator==(const CapsImage &) const = default;
};

// Process attributes set with prctl/personality/setsid: restored on the
// target with the credentials and capabilities.
// The cgroup of a process in one hierarchy: the hierarchy's controllers
// as /proc/PID/cgroup names them ("memory", "cpu,cpuacct", "name=systemd";
// empty: the unified v2 hierarchy) and the path in it ("/a/b").
struct CgroupImage {
  std::string controllers;
  std::string path;
  bool operator==(const CgroupImage &) const = default;
};

// The membarrier registrations a process can be asked about (each private
// expedited command fails with EPERM until its registration).
inline constexpr uint32_t kMembarrierRegistrations = (1u << 4) | (1u << 6) | (1u << 8);

struct ProcAttrsImage {
  uint32_t personality = 0;
  bool no_new_privs = false;
  uint32_t dumpable = 1;       // PR_GET_DUMPABLE: 0, 1 or 2 (suid_dumpable)
  int32_t pdeath_signal = 0;   // of the main thread (PR_GET_PDEATHSIG)
  bool child_subreaper = false;
  uint32_t securebits = 0;     // PR_GET_SECUREBITS (SECBIT_KEEP_CAPS ...)
  bool session_leader = false; // sid == pgid == pid: it called setsid()
  CapsImage caps;
  int32_t oom_score_adj = 0;   // -1000..1000
  bool thp_disabled = false;   // PR_SET_THP_DISABLE
  uint32_t membarrier = 0;     // MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED* bits made
  std::vector<CgroupImage> cgroups; // one per hierarchy, as /proc/PID/cgroup lists them
  int64_t loginuid = -1;       // the audit login uid (4294967295: unset); -1: not known here
  bool operator==(const ProcAttrsImage &) const = default;
};

// One seccomp filter: its BPF program as the kernel holds it.
struct SeccompFilterImage {
  uint32_t flags = 0;         // SECCOMP_FILTER_FLAG_LOG (from PTRACE_SECCOMP_GET_METADATA)
  std::vector<uint64_t> insns; // struct sock_filter, 8 bytes each
  bool operator==(const SeccompFilterImage &) const = default;
};

// The seccomp state of one thread: strict mode, or the filters it runs
// under, oldest first (the order they are installed in again).
struct SeccompImage {
  int32_t tid = 0;
  uint32_t mode = 0; // SECCOMP_MODE_DISABLED / _STRICT / _FILTER
  std::vector<SeccompFilterImage> filters;
  bool operator==(const SeccompImage &) const = default;
};
inline constexpr uint32_t kMaxSeccompFilters = 64;   // per thread
inline constexpr uint32_t kMaxSeccompInsns = 4096;   // BPF_MAXINSNS, per filter

// setitimer: ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF in that order.
// The real one is kept against a wall-clock reading like a timerfd; the
// CPU-time ones keep what was left of them.
struct ItimerImage {
  uint64_t value_ns = 0; // left to the next expiration (0: disarmed)
  uint64_t interval_ns = 0;
  bool operator==(const ItimerImage &) const = default;
};

// A POSIX timer (timer_create). Its deadline is value_ns after captured_ns
// (CLOCK_REALTIME); the target re-arms it on the same clock with the same
// id, sigevent and interval.
struct PosixTimerImage {
  int32_t id = 0;
  int32_t clockid = 0;
  int32_t notify = 0;     // SIGEV_SIGNAL, SIGEV_NONE, or SIGEV_SIGNAL|SIGEV_THREAD_ID
  int32_t signo = 0;
  int32_t tid = 0;        // SIGEV_THREAD_ID: the thread (as the process sees it)
  uint64_t sigval = 0;    // sigev_value
  uint64_t value_ns = 0;  // left to the next expiration (0: disarmed)
  uint64_t interval_ns = 0;
  int32_t overrun_last = 0; // timer_getoverrun: overruns of the last signal delivered
  bool signal_pending = false; // its signal is queued (the siginfo sits in a queue)
  bool operator==(const PosixTimerImage &) const = default;
};

struct TimersImage {
  uint64_t captured_ns = 0; // CLOCK_REALTIME when the timers were read
  std::array<ItimerImage, 3> itimers{};
  std::vector<PosixTimerImage> posix; // sorted by id
  bool operator==(const TimersImage &) const = default;
};

// A run of pages the source has, in page units.
struct PageRun {
  uint64_t addr = 0;
  uint64_t npages = 0;
  bool operator==(const PageRun &) const = default;
};

struct ProcessImage {
  int32_t pid = 0;
  std::string comm;
  CredsImage creds;
  uint32_t umask = 022;
  std::string cwd;
  bool cwd_deleted = false; // its working directory was removed: cwd is where it was
  std::vector<VmaImage> vmas;
  std::vector<FileImage> files;
  std::vector<FdImage> fds;
  std::vector<PipeImage> pipes;
  std::vector<ContentsImage> contents;
  std::vector<EventfdImage> eventfds;
  std::vector<EpollImage> epolls;
  std::vector<SignalfdImage> signalfds;
  std::vector<TimerfdImage> timerfds;
  std::vector<InotifyImage> inotifies;
  std::vector<UnixSocketImage> unix_sockets;
  std::vector<ShmemMapImage> shmem_maps; // one per shmem VMA, in VMA order
  uint32_t mlockall_flags = 0; // MCL_FUTURE (| MCL_ONFAULT): mappings made later are locked
  std::array<SigactionImage, 64> sigactions{};
  std::vector<RlimitImage> rlimits;
  MmImage mm;
  std::vector<ThreadImage> threads;
  std::vector<SiginfoImage> shared_pending; // the process-wide queue, oldest first
  TimersImage timers;
  std::vector<PageRun> pages;  // every page the source holds (inventory)
  std::vector<PageRun> guards; // MADV_GUARD_INSTALL guard pages, installed again
  uint64_t xfeatures = 0;      // XCR0 the source ran with
  ProcAttrsImage attrs;
  std::vector<SeccompImage> seccomp; // threads with seccomp on, by tid
  bool operator==(const ProcessImage &) const = default;
};

// Register indices in RegsImage.
enum RegIndex : int {
  kR15 = 0, kR14, kR13, kR12, kRbp, kRbx, kR11, kR10, kR9, kR8, kRax, kRcx, kRdx, kRsi, kRdi,
  kOrigRax, kRip, kCs, kEflags, kRsp, kSs, kFsBase, kGsBase, kDs, kEs, kFs, kGs
};

uint64_t total_pages(const std::vector<PageRun> &runs);

} // namespace lmig
