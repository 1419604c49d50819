// Semantic checks of an image's fd table and of what its files hold: every
// reference between files, fds, pipes, contents and the per-kind records
// resolves, and every value is one the target can restore. Part of
// validate_image: a hostile image is rejected before anything is created.
#pragma once

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

// Clocks a timerfd may be on for lmig to move it.
bool timerfd_clock_supported(int32_t clockid);

Status validate_fd_state(const ProcessImage &image);

} // namespace lmig
