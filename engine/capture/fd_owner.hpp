// Signal-driven I/O: who gets an open file's signals (F_SETOWN_EX) and
// which signal (F_SETSIG). The owner travels as the process sees it: the
// process itself, one of its threads, or the process group it leads; an
// owner elsewhere (another process, a group led by another) is refused by
// name, since its signals would go nowhere or to a stranger.
#pragma once

#include <sys/types.h>

#include "engine/base/error.hpp"
#include "engine/capture/fd_borrow.hpp"
#include "engine/image/image.hpp"

namespace lmig {

// Reads fd's owner and signal through a borrowed duplicate (they belong to
// the open file) into img. in_tree_files: the file is one the tree's
// members share, where an owner is not supported yet.
Status capture_fd_owner(FdBorrower &borrower, int fd, bool in_tree_files, FileImage &img);

} // namespace lmig
