#include "engine/lazy/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace lmig {

void LatencyHistogram::add(uint64_t ns) {
  samples_.push_back(ns);
  sorted_ = false;
  uint64_t us = ns / 1000;
  int b = 0;
  while (b + 1 < kBuckets && (us >> (b + 1)) != 0)
    b++;
  buckets_[b]++;
}

double LatencyHistogram::percentile_us(double p) const {
  if (samples_.empty())
    return 0;
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  double rank = p / 100.0 * static_cast<double>(samples_.size() - 1);
  size_t i = static_cast<size_t>(std::floor(rank));
  size_t j = std::min(i + 1, samples_.size() - 1);
  double frac = rank - static_cast<double>(i);
  double v = static_cast<double>(samples_[i]) * (1 - frac) + static_cast<double>(samples_[j]) * frac;
  return v / 1000.0;
}

double LatencyHistogram::max_us() const {
  if (samples_.empty())
    return 0;
  return static_cast<double>(*std::max_element(samples_.begin(), samples_.end())) / 1000.0;
}

} // namespace lmig
