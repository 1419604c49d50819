// End-to-end stop-and-copy migrations over loopback: the migrated process
// keeps running on the target with its memory, files and signals intact,
// and the source copy is gone.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <memory>

#include "tests/integration/harness.hpp"

namespace lmig::test {
namespace {

struct Migrated {
  CmdResult result;
  std::map<std::string, std::string> json;
  pid_t target = -1;
  std::unique_ptr<ProcessGuard> guard; // the migrated process dies with the test
};

Migrated migrate(pid_t pid, const Lmigd &d, const std::string &mode = "--stop-copy") {
  Migrated m;
  m.result = run({bin("LMIG"), mode, std::to_string(pid), d.address(), "--json"});
  m.json = parse_json_object(m.result.out);
  if (m.json.count("target_pid"))
    m.target = std::stoi(m.json["target_pid"]);
  m.guard = std::make_unique<ProcessGuard>(m.target);
  return m;
}

std::string nspid_line(pid_t pid) {
  std::string s = read_file("/proc/" + std::to_string(pid) + "/status");
  size_t at = s.find("NSpid:");
  return at == std::string::npos ? "" : s.substr(at, s.find('\n', at) - at);
}

TEST(StopCopy, MovesA128MiBProcessWithFilesPipeSignalsAndMappings) {
  Lmigd d;
  Workload w({}, 128);
  pid_t src = w.pid();
  ASSERT_EQ(w.check(src, 1).substr(0, 4), "PASS") << "the workload must verify before moving";

  Migrated m = migrate(src, d);
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  ASSERT_GT(m.target, 0) << m.result.out;
  EXPECT_EQ(m.json["mode"], "stop-copy");
  EXPECT_GE(std::stoull(m.json["pages_total"]), 128ull * 256);
  EXPECT_GT(std::stod(m.json["downtime_ms"]), 0.0);
  EXPECT_GE(std::stoull(m.json["bytes"]), 128ull << 20);
  EXPECT_EQ(std::stoi(m.json["target_vpid"]), src);

  w.reap_source();
  EXPECT_FALSE(alive(src)) << "the source copy must be gone";
  ASSERT_TRUE(alive(m.target));
  // Inside its new namespace the process has its original PID.
  EXPECT_NE(nspid_line(m.target).find("\t" + std::to_string(src)), std::string::npos)
      << nspid_line(m.target);

  EXPECT_EQ(w.check(m.target, 2).substr(0, 4), "PASS") << w.check(m.target, 2);
  // It keeps running: a second check sees more iterations of its loop.
  std::string v3 = w.check(m.target, 3);
  EXPECT_EQ(v3.substr(0, 4), "PASS") << v3;
}

TEST(StopCopy, KeepsRegistersOfAProcessFrozenInUserCode) {
  Lmigd d;
  Workload w({"--spin"}, 4);
  pid_t src = w.pid();
  Migrated m = migrate(src, d);
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  w.reap_source();
  std::string v = w.check(m.target, 1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

TEST(StopCopy, MigratesTheSameProcessTwice) {
  Lmigd d1, d2;
  Workload w({}, 8);
  pid_t src = w.pid();
  Migrated m1 = migrate(src, d1);
  ASSERT_EQ(m1.result.exit_code, 0) << m1.result.err << d1.log();
  w.reap_source();
  ASSERT_EQ(w.check(m1.target, 1).substr(0, 4), "PASS");
  // Now it lives in lmigd's PID namespace, where it still has its original
  // PID; the next move keeps that one.
  Migrated m2 = migrate(m1.target, d2);
  ASSERT_EQ(m2.result.exit_code, 0) << m2.result.err << d2.log();
  EXPECT_EQ(std::stoi(m2.json["target_vpid"]), src);
  EXPECT_TRUE(wait_for([&] { return !alive(m1.target); }, std::chrono::seconds(5)));
  EXPECT_EQ(w.check(m2.target, 2).substr(0, 4), "PASS");
}

TEST(StopCopy, LmigdOnceExitsAfterOneMigrationAndTheProcessOutlivesIt) {
  Lmigd d({"--once"});
  Workload w({}, 4);
  Migrated m = migrate(w.pid(), d);
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  w.reap_source();
  EXPECT_TRUE(wait_for([&] { return !alive(d.pid()); }, std::chrono::seconds(5)))
      << "lmigd --once should exit";
  d.stop();
  EXPECT_EQ(w.check(m.target, 1).substr(0, 4), "PASS");
}

TEST(Lmigd, StopsCleanlyOnSigtermLeavingMigratedProcessesRunning) {
  Lmigd d;
  Workload w({}, 2);
  Migrated m = migrate(w.pid(), d);
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  w.reap_source();
  int status = d.terminate();
  EXPECT_TRUE(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NE(d.log().find("stopping"), std::string::npos) << d.log();
  EXPECT_EQ(w.check(m.target, 1).substr(0, 4), "PASS");
}

} // namespace
} // namespace lmig::test
