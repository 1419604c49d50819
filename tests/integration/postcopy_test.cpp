// End-to-end post-copy migrations over loopback: the process runs on the
// target before its memory has moved; every byte arrives (on demand or
// pushed), layout changes made meanwhile are honoured, damaged pages are
// caught and sent again, and the source copy is gone at the end.
#include <gtest/gtest.h>

#include <signal.h>

#include <memory>

#include "tests/integration/harness.hpp"

namespace lmig::test {
namespace {

struct Migrated {
  CmdResult result;
  std::map<std::string, std::string> json;
  pid_t target = -1;
  std::unique_ptr<ProcessGuard> guard;
};

Migrated postcopy(pid_t pid, const Lmigd &d, const Env &env = {}) {
  Migrated m;
  m.result = run({bin("LMIG"), "--postcopy", std::to_string(pid), d.address(), "--json"},
                 std::chrono::seconds(120), env);
  m.json = parse_json_object(m.result.out);
  if (m.json.count("target_pid"))
    m.target = std::stoi(m.json["target_pid"]);
  m.guard = std::make_unique<ProcessGuard>(m.target);
  return m;
}

// Post-copy with the push held back (1.5 s): `meanwhile` checks the
// process on the target while its pages are still to come. Returns the
// migration and what the check said.
std::pair<Migrated, std::string> postcopy_checked_meanwhile(Workload &w, const Lmigd &d) {
  Migrated m;
  std::thread t([&] { m = postcopy(w.pid(), d, {{"LMIG_TEST_PUSH_DELAY_MS", "1500"}}); });
  pid_t target = d.wait_running();
  std::string v = target > 0 ? w.check(target, 1) : "FAIL: never ran on the target";
  t.join();
  return {std::move(m), v};
}

uint64_t num(std::map<std::string, std::string> &j, const char *k) {
  return j.count(k) ? std::stoull(j[k]) : 0;
}

TEST(PostCopy, MovesA256MiBProcessWithFilesPipeSignalsAndMappings) {
  Lmigd d;
  Workload w({}, 256);
  pid_t src = w.pid();
  Migrated m = postcopy(src, d);
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  ASSERT_GT(m.target, 0) << m.result.out;
  EXPECT_EQ(m.json["mode"], "postcopy");
  EXPECT_EQ(std::stoi(m.json["target_vpid"]), src);
  // Every page the source had reached the target: on demand or pushed.
  uint64_t total = num(m.json, "pages_total");
  EXPECT_GE(total, 256ull * 256);
  EXPECT_GE(num(m.json, "pages_demand") + num(m.json, "pages_pushed"), 256ull * 256);
  EXPECT_GT(std::stod(m.json["postcopy_ms"]), 0.0);
  EXPECT_EQ(num(m.json, "checksum_retries"), 0u);
  w.reap_source();
  EXPECT_FALSE(alive(src)) << "the source copy must be gone";
  std::string v = w.check(m.target, 1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
  v = w.check(m.target, 2);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

TEST(PostCopy, FaultsBeforeThePushArriveAreServedOnDemand) {
  Lmigd d;
  Workload w({}, 64);
  // The push held back: the process must fetch what it touches itself (its
  // check reads all 64 MiB).
  auto [m, v] = postcopy_checked_meanwhile(w, d);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v << d.log();
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  // Faults fetched pages (the first ones alone, later ones with what
  // follows them as the reads walk forward).
  EXPECT_GT(num(m.json, "pages_demand"), 0u) << m.result.out;
  EXPECT_GT(num(m.json, "pages_demand") + num(m.json, "pages_prefetched"), 1000u) << m.result.out;
  EXPECT_GT(num(m.json, "pages_prefetched"), num(m.json, "pages_demand")) << m.result.out;
  EXPECT_GT(std::stod(m.json["fault_p50_us"]), 0.0);
  EXPECT_NE(m.json["fault_histogram_us_log2"], "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]");
  w.reap_source();
}

TEST(PostCopy, LayoutChangesBeforeThePagesArriveAreHonoured) {
  Lmigd d;
  Workload w({"--layout-events"}, 8);
  // madvise/mremap/munmap on pages that have not arrived, then read them
  auto [m, v1] = postcopy_checked_meanwhile(w, d);
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  EXPECT_EQ(v1.substr(0, 4), "PASS") << v1;
  // The push has finished by now: it must not have undone any of it.
  std::string v2 = w.check(m.target, 2);
  EXPECT_EQ(v2.substr(0, 4), "PASS") << v2;
  w.reap_source();
}

// A child forked while the memory is still coming lacks what its parent
// lacked: it gets those pages from the source too (UFFD_EVENT_FORK), and so
// does a grandchild, and neither ever sees a zero page where data was.
TEST(PostCopy, ChildrenForkedBeforeThePagesArriveGetThem) {
  Lmigd d;
  Workload w({"--fork-check"}, 32);
  // forks before any of the 32 MiB is here
  auto [m, v1] = postcopy_checked_meanwhile(w, d);
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  EXPECT_EQ(v1.substr(0, 4), "PASS") << v1;
  EXPECT_NE(d.log().find("forked during post-copy"), std::string::npos) << d.log();
  std::string v2 = w.check(m.target, 2); // and after every page is in
  EXPECT_EQ(v2.substr(0, 4), "PASS") << v2;
  w.reap_source();
}

TEST(PostCopy, DamagedPagesAreCaughtAndSentAgain) {
  Lmigd d;
  Workload w({}, 32);
  // Test-only switch: the source damages every 7th page frame once.
  Migrated m = postcopy(w.pid(), d, {{"LMIG_TEST_CORRUPT_EVERY", "7"}});
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  EXPECT_GT(num(m.json, "checksum_retries"), 0u) << m.result.out;
  EXPECT_NE(d.log().find("checksum mismatch"), std::string::npos);
  w.reap_source();
  std::string v = w.check(m.target, 1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

TEST(PostCopy, PagesThatKeepFailingTheirChecksumFailTheMigrationLoudly) {
  Lmigd d;
  Workload w({}, 8);
  pid_t src = w.pid();
  // Every frame damaged, the ones sent again too: three strikes.
  CmdResult r = run({bin("LMIG"), "--postcopy", std::to_string(src), d.address()},
                    std::chrono::seconds(60),
                    {{"LMIG_TEST_CORRUPT_EVERY", "1"}, {"LMIG_TEST_CORRUPT_RETRIES", "1"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("failed their checksum 3 times"), std::string::npos) << r.err;
  EXPECT_TRUE(wait_for([&] { return d.log().find("migration failed") != std::string::npos; },
                       std::chrono::seconds(5)));
  EXPECT_NE(d.log().find("failed their checksum 3 times"), std::string::npos) << d.log();
  // Nothing runs on the target, and the source copy is there: resumed if
  // this happened before the switchover, kept stopped after it.
  EXPECT_EQ(d.log().find("post-copy of PID"), std::string::npos) << d.log();
  ASSERT_TRUE(alive(src));
  if (proc_state(src) == 'T')
    ::kill(src, SIGCONT);
  std::string v = w.check(src, 1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

TEST(PostCopy, KeepsRegistersOfAProcessFrozenInUserCode) {
  Lmigd d;
  Workload w({"--spin"}, 4);
  Migrated m = postcopy(w.pid(), d);
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  w.reap_source();
  std::string v = w.check(m.target, 1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

TEST(PostCopy, TargetFailingBeforeTheSwitchoverLeavesTheSourceRunning) {
  Workload w({}, 4);
  Lmigd d({}, {"unshare", "-m", "--propagation", "private", "sh", "-c",
               "mount -t tmpfs none \"$0\" && exec \"$@\"", w.dir().path()});
  CmdResult r = run({bin("LMIG"), "--postcopy", std::to_string(w.pid()), d.address()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("target: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("map.bin"), std::string::npos) << r.err;
  EXPECT_TRUE(alive(w.pid()));
  std::string v = w.check(w.pid(), 1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

} // namespace
} // namespace lmig::test
