// Reads and writes another process's memory: process_vm_readv/writev for
// speed, /proc/PID/mem (which goes through any protection) where they are
// refused.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "engine/base/error.hpp"
#include "engine/base/unique_fd.hpp"

namespace lmig {

class PageWriter {
public:
  explicit PageWriter(pid_t pid) : pid_(pid) {}
  Status write(uint64_t addr, const void *data, size_t len);

private:
  pid_t pid_;
  UniqueFd mem_;
};

class PageReader {
public:
  explicit PageReader(pid_t pid) : pid_(pid) {}
  Status read(uint64_t addr, void *data, size_t len);

private:
  pid_t pid_;
  UniqueFd mem_;
};

} // namespace lmig
