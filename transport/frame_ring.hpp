// A ring buffer mapped twice back to back, so that any span of up to its
// size is contiguous in memory even when it wraps: received frames can be
// handed out (and installed with one ioctl) without copying them together.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/base/error.hpp"
#include "engine/base/mapping.hpp"

namespace lmig {

class FrameRing {
public:
  // size: a multiple of the page size.
  static Result<FrameRing> create(size_t size);
  uint8_t *at(uint64_t counter) const { return base_.bytes() + (counter % size_); }
  size_t size() const { return size_; }

private:
  Mapping base_; // 2 * size_, both halves the same memory
  size_t size_ = 0;
};

} // namespace lmig
