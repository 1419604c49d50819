#include "engine/lazy/lazy_pages.hpp"

#include <algorithm>
#include <cstring>

namespace lmig {
namespace {
constexpr uint64_t kPage = 4096;
}

LazyPages::LazyPages(const std::vector<AddressRange> &regions) {
  size_t n = 0;
  for (const auto &r : regions) {
    regions_.push_back({r.start, r.end, n});
    // every region starts on a chunk boundary in index space
    n += ((r.end - r.start) / kPage + kChunk - 1) / kChunk * kChunk;
  }
  chunks_.resize(n / kChunk);
}

LazyPages LazyPages::clone() const {
  LazyPages c(std::vector<AddressRange>{});
  c.regions_ = regions_;
  c.chunks_.resize(chunks_.size());
  for (size_t k = 0; k < chunks_.size(); k++)
    if (chunks_[k]) {
      c.chunks_[k].reset(new uint8_t[kChunk]);
      std::memcpy(c.chunks_[k].get(), chunks_[k].get(), kChunk);
    }
  c.default_ = default_;
  c.remaining_ = remaining_;
  c.inventory_pages_ = inventory_pages_;
  c.inventory_known_ = inventory_known_;
  return c;
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

uint8_t *LazyPages::chunk_for(int64_t i) {
  auto &c = chunks_[static_cast<size_t>(i) / kChunk];
  if (!c) {
    c.reset(new uint8_t[kChunk]);
    std::memset(c.get(), default_, kChunk);
  }
  return c.get();
}

LazyPages::State LazyPages::get(int64_t i) const {
  const auto &c = chunks_[static_cast<size_t>(i) / kChunk];
  return c ? static_cast<State>(c[static_cast<size_t>(i) % kChunk]) : default_;
}

void LazyPages::set(int64_t i, State s) {
  State cur = get(i);
  if (cur == s)
    return;
  if (wanted(cur) && !wanted(s))
    remaining_--;
  else if (!wanted(cur) && wanted(s))
    remaining_++;
  chunk_for(i)[static_cast<size_t>(i) % kChunk] = s;
}

void LazyPages::add_inventory(uint64_t addr, uint64_t npages) {
  for (uint64_t p = 0; p < npages; p++) {
    int64_t i = index(addr + p * kPage);
    if (i < 0)
      continue;
    inventory_pages_++;
    if (get(i) == kUnknown)
      set(i, kMissing);
  }
}

void LazyPages::inventory_complete() {
  // What the inventory did not name does not exist on the source.
  for (auto &c : chunks_)
    if (c)
      for (size_t k = 0; k < kChunk; k++)
        if (c[k] == kUnknown)
          c[k] = kAbsent;
  default_ = kAbsent;
  inventory_known_ = true;
}

void LazyPages::forget_requests() {
  State back = inventory_known_ ? kMissing : kUnknown;
  for (size_t c = 0; c < chunks_.size(); c++)
    if (chunks_[c])
      for (size_t k = 0; k < kChunk; k++)
        if (chunks_[c][k] == kRequested)
          set(static_cast<int64_t>(c * kChunk + k), back);
}

uint64_t LazyPages::address_of(int64_t i) const {
  auto it = std::upper_bound(regions_.begin(), regions_.end(), static_cast<size_t>(i),
                             [](size_t idx, const Region &r) {
                               return idx < r.first + (r.end - r.start) / kPage;
                             });
  return it->start + (static_cast<size_t>(i) - it->first) * kPage;
}

std::optional<uint64_t> LazyPages::first_in(State s) const {
  for (const auto &r : regions_) {
    const size_t n = (r.end - r.start) / kPage;
    for (size_t k = 0; k < n;) {
      const size_t i = r.first + k;
      if (!chunks_[i / kChunk] && default_ != s) {
        k += kChunk - i % kChunk;
        continue;
      }
      if (get(static_cast<int64_t>(i)) == s)
        return r.start + k * kPage;
      k++;
    }
  }
  return std::nullopt;
}

uint32_t LazyPages::run_of(uint64_t addr, State s, uint32_t max) const {
  const Region *r = region_of(addr);
  if (!r)
    return 0;
  int64_t i = static_cast<int64_t>(r->first + (addr - r->start) / kPage);
  int64_t end = static_cast<int64_t>(r->first + (r->end - r->start) / kPage);
  uint32_t n = 0;
  while (n < max && i + n < end && get(i + n) == s)
    n++;
  return n;
}

uint32_t LazyPages::wanted_run(uint64_t addr, uint32_t max) const {
  const Region *r = region_of(addr);
  if (!r)
    return 0;
  int64_t i = static_cast<int64_t>(r->first + (addr - r->start) / kPage);
  int64_t end = static_cast<int64_t>(r->first + (r->end - r->start) / kPage);
  uint32_t n = 0;
  while (n < max && i + n < end && wanted(get(i + n)))
    n++;
  return n;
}

} // namespace lmig
