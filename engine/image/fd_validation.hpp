// Semantic checks of an image's fd table and of what its files hold: every
// reference between files, fds, pipes, contents and the per-kind records
// resolves, and every value is one the target can restore. Part of
// validate_image: a hostile image is rejected before anything is created.
#pragma once

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

Status validate_fd_state(const ProcessImage &image);

} // namespace lmig
