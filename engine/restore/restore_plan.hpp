// Everything the target needs to rebuild a process, worked out before any
// process is created: preflight checks against this host (files present and
// unchanged, kernel layout compatible), the restorer's region and argument
// block, and the fd table to open. The restore child only executes it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

struct AddressRange {
  uint64_t start, end;
};

struct FdTarget {
  int fd;
  bool cloexec;
};

struct FilePlan {
  FileKind kind;
  std::string path;
  uint32_t flags;
  uint64_t pos;
  int pipe_index;  // kind == pipe
  bool write_end;
  std::vector<FdTarget> targets;
};

struct PipePlan {
  uint32_t capacity;
  const std::vector<uint8_t> *data; // points into the image
  int fds[2];                       // filled in by the restore child
};

struct RestorePlan {
  pid_t vpid = 0;
  bool postcopy = false;
  std::vector<uint8_t> args;   // lmig_rst_args block, copied into the region
  uint64_t region_start = 0;
  uint64_t region_len = 0;
  uint64_t blob_len = 0;       // bytes reserved for the blob in the region
  uint64_t args_addr = 0;
  uint64_t stack_top = 0;
  uint64_t entry = 0;          // absolute address of restorer_entry
  uint64_t self_unmap = 0;     // absolute address of the unmapping syscall
  int ctl_fd = 0;              // the control socket's number in the process
  std::vector<FilePlan> files;
  std::vector<PipePlan> pipes;
  std::string cwd;
  std::string comm;            // thread name (PR_SET_NAME)
  uint32_t umask = 0;
  std::vector<PageRun> eager;  // pages written directly (not through userfaultfd)
  std::vector<AddressRange> uffd_ranges; // registered with userfaultfd, sorted
  std::vector<size_t> vma_index; // restorer VMA i is image VMA vma_index[i] (for errors)
};

// Anonymous memory with pages is registered with userfaultfd and installed
// through it (uffd_features: what to ask for; post-copy wants the layout
// events). Without userfaultfd (uffd_available false) everything is written
// directly, which post-copy cannot do.
Result<RestorePlan> plan_restore(const ProcessImage &image, bool postcopy, bool uffd_available,
                                 uint64_t uffd_features);

} // namespace lmig
