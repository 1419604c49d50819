// Where each lazy page stands on the target during post-copy, keyed by its
// address on the source: unknown (the inventory has not arrived: a fault
// asks the source), absent (the source had none: a zero page answers its
// fault), missing, requested, or done (installed, or dropped by the
// process). Counts how many of the source's pages are still to come.
// Sparse: state is kept per 2 MiB chunk only where it differs from the
// default, so vast reserved regions cost nothing. Owned by the pager thread.
#pragma once

#include <optional>

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/restore/restore_plan.hpp"

namespace lmig {

class LazyPages {
public:
  enum State : uint8_t { kAbsent = 0, kMissing = 1, kRequested = 2, kDone = 3, kUnknown = 4 };

  explicit LazyPages(const std::vector<AddressRange> &regions);
  LazyPages(LazyPages &&) = default;
  // The same states, for a process forked from this one's.
  LazyPages clone() const;

  // The source's pages: runs that exist. Call with last = true once.
  void add_inventory(uint64_t addr, uint64_t npages);
  void inventory_complete();
  bool inventory_known() const { return inventory_known_; }

  // Page index of addr, or -1 when it lies in no region.
  int64_t index(uint64_t addr) const;
  State get(int64_t i) const;
  void set(int64_t i, State s);
  // Pages from addr on (at most max, within its region) whose state is s.
  uint32_t run_of(uint64_t addr, State s, uint32_t max) const;
  // Pages from addr on (at most max, within its region) still to install.
  uint32_t wanted_run(uint64_t addr, uint32_t max) const;

  // Pages asked for whose answer will not come (the link dropped): back to
  // missing (or unknown before the inventory).
  void forget_requests();
  // Address of page index i.
  uint64_t address_of(int64_t i) const;
  // The lowest address whose page is in state s, if any (skips chunks
  // never written when s is not the default).
  std::optional<uint64_t> first_in(State s) const;

  static bool wanted(State s) { return s == kMissing || s == kRequested; }
  uint64_t remaining() const { return remaining_; }
  uint64_t inventory_pages() const { return inventory_pages_; }

private:
  static constexpr size_t kChunk = 512; // pages per chunk
  struct Region {
    uint64_t start, end;
    size_t first; // index of its first page
  };
  const Region *region_of(uint64_t addr) const;
  uint8_t *chunk_for(int64_t i); // allocates
  std::vector<Region> regions_;
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;
  State default_ = kUnknown; // state of pages in chunks never written
  uint64_t remaining_ = 0;
  uint64_t inventory_pages_ = 0;
  bool inventory_known_ = false;
};

} // namespace lmig
