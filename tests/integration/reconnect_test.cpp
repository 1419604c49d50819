// Post-copy across a link that drops after the switchover: both sides dial
// or wait for each other again and the migration completes; if the source
// stays away too long, lmigd kills the half-migrated process and says why,
// lmig fails, and the source copy is kept (stopped), not lost.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/harness.hpp"
#include "tests/integration/tcp_proxy.hpp"

namespace lmig::test {
namespace {

// Post-copy through the proxy with the push held back; every connection
// is cut as soon as the process runs on the target, which is then checked
// (its memory mostly still on the source). Asserts the migration completed
// and the source is gone; returns what the check said.
std::string postcopy_through_a_cut(const Lmigd &d, TcpProxy &proxy, Workload &w) {
  const pid_t src = w.pid();
  CmdResult r;
  std::thread t([&] {
    r = run({bin("LMIG"), "--postcopy", std::to_string(src), proxy.address(), "--json"},
            std::chrono::seconds(60), {{"LMIG_TEST_PUSH_DELAY_MS", "1000"}});
  });
  pid_t target = d.wait_running();
  ProcessGuard g(target);
  proxy.cut();
  std::string v = target > 0 ? w.check(target, 1) : "FAIL: never ran on the target";
  t.join();
  EXPECT_EQ(r.exit_code, 0) << r.err << d.log();
  w.reap_source();
  EXPECT_FALSE(alive(src));
  return v;
}

TEST(Reconnect, APostCopyMigrationSurvivesDroppedConnections) {
  Lmigd d;
  TcpProxy proxy(d.port());
  Workload w({}, 32);
  // both connections drop while most pages are still on the source
  std::string v = postcopy_through_a_cut(d, proxy, w);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
  EXPECT_GE(proxy.accepted(), 4) << "the source dialled again";
  EXPECT_NE(d.log().find("demand connection re-established"), std::string::npos) << d.log();
}

// A tree: each member's page channels drop and are dialled again on their
// own (its session), and the child's memory, still on the source, comes.
TEST(Reconnect, EveryMemberOfATreeDialsAgain) {
  Lmigd d;
  TcpProxy proxy(d.port());
  Workload w({"--child"}, 16);
  // four connections drop: the root's two and the child's two; the check
  // has the child check its memory too
  std::string v = postcopy_through_a_cut(d, proxy, w);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
  EXPECT_GE(proxy.accepted(), 8) << "every member's links were dialled again";
  const std::string log = d.log();
  size_t relinks = 0;
  for (size_t at = log.find("demand connection re-established"); at != std::string::npos;
       at = log.find("demand connection re-established", at + 1))
    relinks++;
  EXPECT_EQ(relinks, 2u) << log;
}

TEST(Reconnect, LmigdKillsTheHalfMigratedProcessWhenTheSourceStaysAway) {
  Lmigd d({"--reconnect-timeout", "1500"});
  TcpProxy proxy(d.port());
  Workload w({}, 16);
  pid_t src = w.pid();
  CmdResult r;
  std::thread t([&] {
    r = run({bin("LMIG"), "--postcopy", std::to_string(src), proxy.address(),
             "--reconnect-timeout", "1500"},
            std::chrono::seconds(60), {{"LMIG_TEST_PUSH_DELAY_MS", "5000"}});
  });
  pid_t target = d.wait_running();
  ASSERT_GT(target, 0) << d.log();
  ProcessGuard g(target);
  proxy.refuse(true);
  proxy.cut();
  t.join();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("could not reach the target again"), std::string::npos) << r.err;
  EXPECT_TRUE(wait_for([&] { return !alive(target); }, std::chrono::seconds(10)))
      << "lmigd must kill the half-migrated process";
  EXPECT_NE(d.log().find("did not reconnect within 1500 ms"), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("half-migrated process was killed"), std::string::npos) << d.log();
  // The source copy is kept, stopped: nothing is lost.
  EXPECT_TRUE(wait_for([&] { return proc_state(src) == 'T'; }, std::chrono::seconds(5)))
      << proc_state(src);
}

} // namespace
} // namespace lmig::test
