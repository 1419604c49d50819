// Fault latencies: every sample kept (for exact percentiles) and counted in
// power-of-two microsecond buckets (bucket i holds [2^i, 2^(i+1)) us).
#pragma once

#include <cstdint>
#include <vector>

namespace lmig {

class LatencyHistogram {
public:
  static constexpr int kBuckets = 24;
  void add(uint64_t ns);
  uint64_t count() const { return samples_.size(); }
  // p in [0, 100]; 0 when empty.
  double percentile_us(double p) const;
  double max_us() const;
  const uint64_t *buckets() const { return buckets_; }

private:
  mutable std::vector<uint64_t> samples_;
  mutable bool sorted_ = true;
  uint64_t buckets_[kBuckets] = {};
};

} // namespace lmig
