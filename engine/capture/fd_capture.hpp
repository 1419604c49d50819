// Reads a process's file descriptor table: what each fd is, its flags and
// offset, which fds share one open file, and what its pipes hold. Refuses by
// name (e.g. "fd 4: TCP socket is not supported yet") what cannot move yet.
#pragma once

#include <sys/types.h>

#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

struct FdTable {
  std::vector<FileImage> files;
  std::vector<FdImage> fds;
  std::vector<PipeImage> pipes;
};

// With read_pipe_data, buffered pipe bytes are copied (without consuming
// them); only meaningful while the process is frozen.
Result<FdTable> capture_fds(pid_t pid, bool read_pipe_data);

} // namespace lmig
