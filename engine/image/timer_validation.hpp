// Semantic checks of an image's timers (setitimer and POSIX timers): clocks,
// notifications, signals and thread references the target can restore. Part
// of validate_image: a hostile image is rejected before anything is created.
#pragma once

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

// Clocks a POSIX timer may be on for lmig to move it.
bool posix_timer_clock_supported(int32_t clockid);

Status validate_timers(const ProcessImage &image);

} // namespace lmig
