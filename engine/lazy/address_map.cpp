#include "engine/lazy/address_map.hpp"

#include <algorithm>

namespace lmig {

AddressMap::AddressMap(const std::vector<AddressRange> &regions) {
  for (const auto &r : regions)
    segs_.push_back({r.start, r.start, r.end - r.start});
}

std::optional<uint64_t> AddressMap::to_source(uint64_t target) const {
  for (const auto &s : segs_)
    if (target >= s.tgt && target - s.tgt < s.len)
      return s.src + (target - s.tgt);
  return std::nullopt;
}

void AddressMap::to_target(uint64_t src, uint64_t len,
                           const std::function<void(uint64_t, uint64_t, uint64_t)> &fn) const {
  const uint64_t end = src + len;
  auto it = std::upper_bound(segs_.begin(), segs_.end(), src,
                             [](uint64_t a, const Segment &s) { return a < s.src + s.len; });
  for (; it != segs_.end() && it->src < end; ++it) {
    uint64_t a = std::max(src, it->src), b = std::min(end, it->src + it->len);
    if (a < b)
      fn(a, it->tgt + (a - it->src), b - a);
  }
}

void AddressMap::split_at_target(uint64_t tgt) {
  for (size_t i = 0; i < segs_.size(); i++) {
    Segment &s = segs_[i];
    if (tgt > s.tgt && tgt < s.tgt + s.len) {
      uint64_t head = tgt - s.tgt;
      Segment tail{s.src + head, tgt, s.len - head};
      s.len = head;
      segs_.insert(segs_.begin() + static_cast<long>(i) + 1, tail);
      return;
    }
  }
}

void AddressMap::drop(uint64_t start, uint64_t end,
                      const std::function<void(uint64_t, uint64_t)> &fn) {
  split_at_target(start);
  split_at_target(end);
  std::vector<Segment> kept;
  kept.reserve(segs_.size());
  for (const auto &s : segs_) {
    if (s.tgt >= start && s.tgt + s.len <= end)
      fn(s.src, s.len);
    else
      kept.push_back(s);
  }
  segs_ = std::move(kept);
}

void AddressMap::remap(uint64_t from, uint64_t to, uint64_t len) {
  split_at_target(from);
  split_at_target(from + len);
  for (auto &s : segs_)
    if (s.tgt >= from && s.tgt + s.len <= from + len)
      s.tgt = s.tgt - from + to;
}

} // namespace lmig
