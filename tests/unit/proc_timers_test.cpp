// parse_proc_timers: the /proc/PID/timers format, and what it must reject.
#include <gtest/gtest.h>

#include "engine/capture/timers.hpp"

namespace lmig {
namespace {

TEST(ProcTimers, ParsesEveryKind) {
  auto r = parse_proc_timers("ID: 5\nsignal: 44/0000000000001234\nnotify: signal/pid.321\n"
                             "ClockID: 0\nID: 2\nsignal: 0/0000000000000000\n"
                             "notify: none/pid.321\nClockID: 1\nID: 0\n"
                             "signal: 45/ffffffffffffffff\nnotify: signal/tid.322\nClockID: 7\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  const auto &a = (*r)[0], &b = (*r)[1], &c = (*r)[2];
  EXPECT_EQ(a.id, 5);
  EXPECT_EQ(a.signo, 44);
  EXPECT_EQ(a.sigval, 0x1234u);
  EXPECT_EQ(a.notify, "signal");
  EXPECT_FALSE(a.to_thread);
  EXPECT_EQ(a.target, 321);
  EXPECT_EQ(a.clockid, 0);
  EXPECT_EQ(b.notify, "none");
  EXPECT_EQ(b.clockid, 1);
  EXPECT_TRUE(c.to_thread);
  EXPECT_EQ(c.target, 322);
  EXPECT_EQ(c.sigval, ~0ull);
  EXPECT_EQ(c.clockid, 7);
}

TEST(ProcTimers, CpuClocksAreNegative) {
  auto r = parse_proc_timers("ID: 0\nsignal: 0/0000000000000000\nnotify: none/pid.9\nClockID: -6\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].clockid, -6);
}

TEST(ProcTimers, EmptyIsNoTimers) {
  auto r = parse_proc_timers("");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(ProcTimers, MalformedIsRejected) {
  for (const char *bad : {"signal: 1/0\n", "ID: x\n", "ID: -1\n", "ID: 1\nsignal: x\n",
                          "ID: 1\nnotify: signal\n", "ID: 1\nnotify: signal/foo.1\n",
                          "ID: 1\nsignal: 1/0\nnotify: signal/pid.1\n",
                          "ID: 1\nsignal: 1/0\nClockID: 0\n", "ID: 1\nClockID: z\n"}) {
    auto r = parse_proc_timers(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

} // namespace
} // namespace lmig
