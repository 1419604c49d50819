// Parser for /proc/PID/maps and /proc/PID/smaps: the memory layout of a
// process, with the VmFlags that maps alone does not show.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/error.hpp"

namespace lmig {

struct MapsEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  bool read = false, write = false, exec = false, shared = false;
  uint64_t pgoff = 0;
  uint32_t dev_major = 0, dev_minor = 0;
  uint64_t inode = 0;
  std::string path;        // without the " (deleted)" suffix
  bool deleted = false;
  std::vector<std::string> vm_flags; // smaps only: "rd", "gd", "sh", ...

  bool has_flag(std::string_view f) const;
  // MAP_SHARED of a shmem inode: shared anonymous memory (/dev/zero) or a memfd.
  bool shmem() const;
  uint32_t prot() const;
};

// Parses maps or smaps text (smaps: per-VMA key lines are read for VmFlags).
Result<std::vector<MapsEntry>> parse_maps(std::string_view text);
Result<std::vector<MapsEntry>> read_smaps(pid_t pid);
Result<std::vector<MapsEntry>> read_maps(pid_t pid);

// Reads a whole /proc file (they report size 0, so read until EOF).
Result<std::string> read_proc_file(const std::string &path);
// Where a /proc symlink (fd, cwd, exe) points.
Result<std::string> read_link(const std::string &path);
// The fd numbers a process has open, ascending.
Result<std::vector<int>> list_fds(pid_t pid);

} // namespace lmig
