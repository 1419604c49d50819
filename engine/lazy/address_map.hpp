// Where the source's pages now live in the restored process. Starts as the
// identity over the lazy ranges; mremap moves a range (UFFD_EVENT_REMAP),
// munmap and MADV_DONTNEED drop one (UNMAP, REMOVE). A fault is translated
// to the source address to ask for; a page that arrives is translated to
// where it belongs now, or dropped if the process let go of it, so a late
// page never overwrites what the process did since.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/restore/restore_plan.hpp"

namespace lmig {

class AddressMap {
public:
  explicit AddressMap(const std::vector<AddressRange> &regions);

  std::optional<uint64_t> to_source(uint64_t target) const;
  // Calls fn(src, tgt, len) for each piece of [src, src+len) that still has
  // a home in the process, in source order.
  void to_target(uint64_t src, uint64_t len,
                 const std::function<void(uint64_t, uint64_t, uint64_t)> &fn) const;
  // The process dropped [start, end): fn(src, len) for each source range lost.
  void drop(uint64_t start, uint64_t end, const std::function<void(uint64_t, uint64_t)> &fn);
  // The process moved [from, from+len) to [to, to+len).
  void remap(uint64_t from, uint64_t to, uint64_t len);

  size_t segments() const { return segs_.size(); }

private:
  struct Segment {
    uint64_t src, tgt, len;
  };
  // Splits segments so that `tgt` is a boundary in target space.
  void split_at_target(uint64_t tgt);
  std::vector<Segment> segs_; // sorted by src, non-overlapping in both spaces
};

} // namespace lmig
