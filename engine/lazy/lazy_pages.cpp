#include "engine/lazy/lazy_pages.hpp"

#include <algorithm>

namespace lmig {
namespace {
constexpr uint64_t kPage = 4096;
}

LazyPages::LazyPages(const std::vector<AddressRange> &regions,
                     const std::vector<PageRun> &inventory) {
  size_t n = 0;
  for (const auto &r : regions) {
    regions_.push_back({r.start, r.end, n});
    n += (r.end - r.start) / kPage;
  }
  state_.assign(n, kAbsent);
  for (const auto &run : inventory) {
    for (uint64_t p = 0; p < run.npages; p++) {
      int64_t i = index(run.addr + p * kPage);
      if (i >= 0 && state_[static_cast<size_t>(i)] == kAbsent) {
        state_[static_cast<size_t>(i)] = kMissing;
        remaining_++;
      }
    }
  }
  total_ = remaining_;
}

const LazyPages::Region *LazyPages::region_of(uint64_t addr) const {
  auto it = std::upper_bound(regions_.begin(), regions_.end(), addr,
                             [](uint64_t a, const Region &r) { return a < r.end; });
  if (it == regions_.end() || it->start > addr)
    return nullptr;
  return &*it;
}

int64_t LazyPages::index(uint64_t addr) const {
  const Region *r = region_of(addr);
  if (!r)
    return -1;
  return static_cast<int64_t>(r->first + (addr - r->start) / kPage);
}

void LazyPages::set(int64_t i, State s) {
  auto &cur = state_[static_cast<size_t>(i)];
  bool was_wanted = cur == kMissing || cur == kRequested;
  bool is_wanted = s == kMissing || s == kRequested;
  if (was_wanted && !is_wanted)
    remaining_--;
  else if (!was_wanted && is_wanted)
    remaining_++;
  cur = s;
}

uint32_t LazyPages::run_of(uint64_t addr, State s, uint32_t max) const {
  const Region *r = region_of(addr);
  if (!r)
    return 0;
  size_t i = r->first + (addr - r->start) / kPage;
  size_t end = r->first + (r->end - r->start) / kPage;
  uint32_t n = 0;
  while (n < max && i + n < end && state_[i + n] == s)
    n++;
  return n;
}

uint32_t LazyPages::wanted_run(uint64_t addr, uint32_t max) const {
  const Region *r = region_of(addr);
  if (!r)
    return 0;
  size_t i = r->first + (addr - r->start) / kPage;
  size_t end = r->first + (r->end - r->start) / kPage;
  uint32_t n = 0;
  while (n < max && i + n < end && (state_[i + n] == kMissing || state_[i + n] == kRequested))
    n++;
  return n;
}

} // namespace lmig
