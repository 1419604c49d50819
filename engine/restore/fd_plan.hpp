// The fd part of a RestorePlan: one FilePlan per open file description with
// the fd numbers it goes to; the pipes, inodes and socket pairs made once
// for several files; and the checks that this host has what they need
// (files and FIFOs opened by path, inotify watch paths, a directory for
// each deleted file). Runs in lmigd before the restore child exists.
#pragma once

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"
#include "engine/restore/restore_plan.hpp"

namespace lmig {

// Fills plan.files, pipes, contents, socket_pairs and ctl_fd.
Status plan_fds(const ProcessImage &image, RestorePlan &plan);

} // namespace lmig
