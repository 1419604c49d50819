// The image: everything captured from a frozen process except its pages.
// Built by capture on the source, encoded for the wire, decoded and
// validated on the target before anything is restored.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lmig {

inline constexpr uint32_t kImageVersion = 1;

enum class VmaKind : uint8_t {
  anon = 0,        // private anonymous (heap, stack, mmap)
  file_private = 1,
  file_shared = 2,
  vdso = 3,
  vvar = 4,
  vvar_vclock = 5,
  vsyscall = 6,
};

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
};

enum class FileKind : uint8_t {
  regular = 0,
  directory = 1,
  char_device = 2,
  pipe = 3,
};

// One open file description; several fds may share it (dup).
struct FileImage {
  uint32_t id = 0;
  FileKind kind = FileKind::regular;
  std::string path;    // regular/dir/char device
  uint32_t flags = 0;  // open flags (O_ACCMODE | O_APPEND | O_NONBLOCK ...)
  uint64_t pos = 0;
  uint64_t pipe_id = 0;    // pipe inode, both ends share it
  bool pipe_write_end = false;
  uint64_t size = 0;       // regular: size at capture, checked on the target
  bool operator==(const FileImage &) const = default;
};

struct FdImage {
  int32_t fd = 0;
  uint32_t file_id = 0;
  bool cloexec = false;
  bool operator==(const FdImage &) const = default;
};

struct PipeImage {
  uint64_t id = 0;          // inode
  uint32_t capacity = 0;    // F_GETPIPE_SZ
  std::vector<uint8_t> data; // bytes buffered when frozen
  bool operator==(const PipeImage &) const = default;
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

// x86-64 user_regs_struct, 27 words, in kernel order.
using RegsImage = std::array<uint64_t, 27>;

struct ThreadImage {
  int32_t tid = 0;
  RegsImage regs{};
  std::vector<uint8_t> xsave;  // PTRACE_GETREGSET NT_X86_XSTATE
  uint64_t sigmask = 0;
  uint64_t rseq_addr = 0; // rseq registration (0: none)
  uint32_t rseq_len = 0;
  uint32_t rseq_sig = 0;
  bool operator==(const ThreadImage &) const = default;
};

struct CredsImage {
  std::array<uint32_t, 4> uid{}; // real, effective, saved, fs
  std::array<uint32_t, 4> gid{};
  std::vector<uint32_t> groups;
  bool operator==(const CredsImage &) const = default;
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
  std::vector<VmaImage> vmas;
  std::vector<FileImage> files;
  std::vector<FdImage> fds;
  std::vector<PipeImage> pipes;
  std::array<SigactionImage, 64> sigactions{};
  std::vector<RlimitImage> rlimits;
  MmImage mm;
  std::vector<ThreadImage> threads;
  std::vector<PageRun> pages;  // every page the source holds (inventory)
  uint64_t xfeatures = 0;      // XCR0 the source ran with
  bool operator==(const ProcessImage &) const = default;
};

// Register indices in RegsImage.
enum RegIndex : int {
  kR15 = 0, kR14, kR13, kR12, kRbp, kRbx, kR11, kR10, kR9, kR8, kRax, kRcx, kRdx, kRsi, kRdi,
  kOrigRax, kRip, kCs, kEflags, kRsp, kSs, kFsBase, kGsBase, kDs, kEs, kFs, kGs
};

uint64_t total_pages(const std::vector<PageRun> &runs);

} // namespace lmig
