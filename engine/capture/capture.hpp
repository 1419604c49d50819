// Captures the image of a frozen process: layout, fds, signals, limits,
// credentials, mm fields, registers and the inventory of its pages.
#pragma once

#include "engine/base/error.hpp"
#include "engine/capture/freezer.hpp"
#include "engine/image/image.hpp"

namespace lmig {

Result<ProcessImage> capture_process(FrozenProcess &frozen);

} // namespace lmig
