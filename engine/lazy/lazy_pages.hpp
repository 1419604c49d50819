// Where each lazy page stands on the target during post-copy, keyed by its
// address on the source: never there (the source had none: a zero page
// answers its fault), missing, requested, or done (installed, or dropped by
// the process). Counts how many of the source's pages are still to come.
// Owned by the pager thread alone.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/image/image.hpp"
#include "engine/restore/restore_plan.hpp"

namespace lmig {

class LazyPages {
public:
  enum State : uint8_t { kAbsent = 0, kMissing = 1, kRequested = 2, kDone = 3 };

  // regions: the userfaultfd ranges (sorted); inventory: the source's pages.
  LazyPages(const std::vector<AddressRange> &regions, const std::vector<PageRun> &inventory);

  // Page index of addr, or -1 when it lies in no region.
  int64_t index(uint64_t addr) const;
  State get(int64_t i) const { return static_cast<State>(state_[static_cast<size_t>(i)]); }
  void set(int64_t i, State s);
  // Pages from addr on (at most max, within its region) whose state is s.
  uint32_t run_of(uint64_t addr, State s, uint32_t max) const;
  // Pages from addr on (at most max, within its region) still to install
  // (missing or requested).
  uint32_t wanted_run(uint64_t addr, uint32_t max) const;

  uint64_t remaining() const { return remaining_; }
  uint64_t total() const { return total_; }

private:
  struct Region {
    uint64_t start, end;
    size_t first; // index of its first page
  };
  const Region *region_of(uint64_t addr) const;
  std::vector<Region> regions_;
  std::vector<uint8_t> state_;
  uint64_t remaining_ = 0;
  uint64_t total_ = 0;
};

} // namespace lmig
