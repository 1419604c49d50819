// Slots and RateLimit: the bounds a server keeps on what peers may hold.
#include "engine/base/rate_limit.hpp"
#include "engine/base/slots.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace lmig {
namespace {

TEST(Slots, NoMoreThanTheCapacityAndEachComesBack) {
  Slots s(2);
  auto a = s.try_take();
  auto b = s.try_take();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(s.try_take());
  EXPECT_EQ(s.in_use(), 2u);
  a.reset();
  EXPECT_EQ(s.in_use(), 1u);
  auto c = s.try_take();
  ASSERT_TRUE(c);
  b->release();
  b->release(); // once only
  EXPECT_EQ(s.in_use(), 1u);
  Slots::Slot moved = std::move(*c);
  c.reset(); // the moved-from slot holds nothing
  EXPECT_EQ(s.in_use(), 1u);
}

TEST(Slots, ManyThreadsNeverExceedIt) {
  Slots s(5);
  std::atomic<size_t> peak{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; t++)
    ts.emplace_back([&] {
      for (int i = 0; i < 20000; i++) {
        auto slot = s.try_take();
        if (!slot)
          continue;
        size_t now = s.in_use(), p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
      }
    });
  for (auto &t : ts)
    t.join();
  EXPECT_LE(peak.load(), 5u);
  EXPECT_EQ(s.in_use(), 0u);
}

TEST(RateLimit, OnePerIntervalCountingTheRest) {
  const uint64_t sec = 1000000000;
  RateLimit r(sec);
  uint64_t held = 99;
  EXPECT_TRUE(r.allow(5 * sec, held));
  EXPECT_EQ(held, 0u);
  for (int i = 0; i < 7; i++)
    EXPECT_FALSE(r.allow(5 * sec + static_cast<uint64_t>(i) * 100000000, held));
  EXPECT_TRUE(r.allow(6 * sec, held));
  EXPECT_EQ(held, 7u);
  EXPECT_TRUE(r.allow(8 * sec, held));
  EXPECT_EQ(held, 0u);
}

} // namespace
} // namespace lmig
