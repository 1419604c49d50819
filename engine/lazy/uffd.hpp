// userfaultfd, wrapped once: feature probing, UFFDIO_COPY / ZEROPAGE / WAKE,
// and reading events. Results keep the kernel's distinctions (EEXIST: the
// page is already there; EAGAIN: the layout is changing, read events first;
// ENOENT: the range is gone) because callers act on them.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "engine/base/error.hpp"

namespace lmig::uffd {

// Features the running kernel offers (UFFDIO_API with none requested).
Result<uint64_t> kernel_features();

// The features lmig asks for in post-copy, restricted to what `available` has.
uint64_t postcopy_features(uint64_t available);

struct Event {
  enum Kind : uint8_t { fault, remove, unmap, remap, fork, other } kind = other;
  uint64_t addr = 0;  // fault address (page aligned) or range start
  uint64_t end = 0;   // remove/unmap: range end; remap: new address
  uint64_t len = 0;   // remap: length
  uint32_t flags = 0; // fault flags (write, ...)
  int fd = -1;        // fork: the child's userfaultfd, now the reader's to close
};

// Reads up to `max` pending events without blocking; 0 when none.
Result<size_t> read_events(int fd, Event *out, size_t max);

struct Outcome {
  int err = 0;          // 0, or EEXIST, EAGAIN, ENOENT, ...
  uint64_t done = 0;    // bytes installed before stopping
};

Outcome copy(int fd, uint64_t dst, const void *src, uint64_t len, bool wake = true);
Outcome zeropage(int fd, uint64_t dst, uint64_t len, bool wake = true);
Status wake(int fd, uint64_t addr, uint64_t len);

} // namespace lmig::uffd
