// Trust: only a source that proves lmigd's pre-shared key may send it a
// process, only a target that proves it may receive one, what crosses the
// wire is sealed, nobody without the migration's secret can take over one
// of its channels, and without a key neither end leaves loopback. Every
// refusal leaves the source running as it was.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "tests/integration/harness.hpp"
#include "tests/integration/tcp_proxy.hpp"
#include "transport/address.hpp"
#include "transport/secure/handshake.hpp"
#include "transport/tcp_connection.hpp"

namespace lmig::test {
namespace {

std::string write_key(const TempDir &dir, const std::string &name, const std::string &key,
                      mode_t mode = 0600) {
  const std::string path = dir.file(name);
  std::ofstream(path) << key << "\n";
  ::chmod(path.c_str(), mode);
  return path;
}

const char kKey[] = "Vq7m1c2JXo0q8bYQ2mS3kJ1uQm0n5Z4b";

// A post-copy migration through a proxy that looks for the workload's
// directory (in the image: its cwd, its files) in every byte it forwards.
struct Watched {
  CmdResult result;
  bool seen = false;
};

Watched migrate_watched(Workload &w, const Lmigd &d, std::vector<std::string> extra,
                        const Env &env = {}) {
  TcpProxy proxy(d.port());
  proxy.watch_for(w.dir().path());
  std::vector<std::string> argv{bin("LMIG"), "--postcopy", std::to_string(w.pid()),
                                proxy.address(), "--json"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Watched out;
  out.result = run(argv, std::chrono::seconds(60), env);
  out.seen = proxy.seen();
  return out;
}

TEST(Security, WithTheSameKeyAProcessMovesAndNothingCrossesInClear) {
  TempDir keys;
  const std::string psk = write_key(keys, "psk", kKey);
  Lmigd d({"--psk-file", psk});
  Workload w({}, 16);
  Watched m = migrate_watched(w, d, {"--psk-file", psk});
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  EXPECT_FALSE(m.seen) << "the image crossed the wire in clear";
  auto json = parse_json_object(m.result.out);
  pid_t target = std::stoi(json["target_pid"]);
  ProcessGuard g(target);
  w.reap_source();
  std::string v = w.check(target, 1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

// The watch itself: with encryption off on both ends (a test build's
// switch) the same migration shows the image on the wire.
TEST(Security, TheWatchSeesTheImageWhenFramesGoInClear) {
  Lmigd d({}, {"env", "LMIG_TEST_CLEARTEXT=1"});
  Workload w({}, 4);
  Watched m = migrate_watched(w, d, {}, {{"LMIG_TEST_CLEARTEXT", "1"}});
  ASSERT_EQ(m.result.exit_code, 0) << m.result.err << d.log();
  auto json = parse_json_object(m.result.out);
  ProcessGuard g(std::stoi(json["target_pid"]));
  EXPECT_TRUE(m.seen);
  w.reap_source();
}

TEST(Security, AnLmigdThatRequiresEncryptionRefusesACleartextSource) {
  Lmigd d;
  Workload w({}, 4);
  CmdResult r = run({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), d.address()},
                    std::chrono::seconds(30), {{"LMIG_TEST_CLEARTEXT", "1"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("asks for no encryption"), std::string::npos) << r.err;
  expect_untouched(w, 1);
}

TEST(Security, ATargetWithAnotherKeyGetsNothing) {
  TempDir keys;
  Lmigd d({"--psk-file", write_key(keys, "theirs", "another key entirely, 32 bytes!")});
  Workload w({}, 4);
  CmdResult r = run({bin("LMIG"), "--postcopy", std::to_string(w.pid()), d.address(),
                     "--psk-file", write_key(keys, "ours", kKey)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("could not prove it holds the same key"), std::string::npos) << r.err;
  expect_untouched(w, 1);
  EXPECT_TRUE(wait_for([&] { return d.log().find("connection refused") != std::string::npos; },
                       std::chrono::seconds(5)))
      << d.log();
}

TEST(Security, ASourceWithoutTheKeyIsRefused) {
  TempDir keys;
  Lmigd d({"--psk-file", write_key(keys, "psk", kKey)});
  Workload w({}, 4);
  CmdResult r = run({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), d.address()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("takes only sources that prove its pre-shared key"), std::string::npos)
      << r.err;
  expect_untouched(w, 1);
}

TEST(Security, AKeyFileOthersCanReadIsRefusedBeforeAnythingHappens) {
  TempDir keys;
  Lmigd d;
  Workload w({}, 4);
  CmdResult r = run({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), d.address(),
                     "--psk-file", write_key(keys, "psk", kKey, 0644)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  expect_untouched(w, 1);
  CmdResult t = run({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), d.address(),
                     "--auth-token", "secret"});
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_NE(t.err.find("no longer supported"), std::string::npos) << t.err;
}

// Beyond loopback a key is required, on both sides, unless --insecure.
// (The addresses are inside network namespaces of the test's own.)
TEST(Security, WithoutAKeyNeitherEndLeavesLoopback) {
  CmdResult r = run({"unshare", "-n", bin("LMIGD"), "--listen", "0.0.0.0:0"},
                    std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("without knowing who sent it"), std::string::npos) << r.err;
  {
    Lmigd insecure({"--insecure"}, {"unshare", "-n"});
    EXPECT_GT(insecure.port(), 0);
  }
  Workload w({}, 4);
  const std::string net =
      "ip link set lo up && ip addr add 10.200.0.1/32 dev lo && exec \"$0\" \"$@\"";
  r = run({"unshare", "-n", "sh", "-c", net, bin("LMIG"), "--stop-copy", std::to_string(w.pid()),
           "10.200.0.1:7000"},
          std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot prove who it is"), std::string::npos) << r.err;
  expect_untouched(w, 1);
}

// A third party that knows a live post-copy migration's session (it
// travels in clear) tries to open or replace its channels: refused, logged,
// and the migration goes on untouched.
TEST(Security, NoOneWithoutTheMigrationsSecretTakesOverItsChannels) {
  Lmigd d;
  Workload w({}, 32);
  Background m({bin("LMIG"), "--postcopy", std::to_string(w.pid()), d.address(), "--json"},
               {{"LMIG_TEST_PUSH_DELAY_MS", "1500"}});
  pid_t target = d.wait_running();
  ASSERT_GT(target, 0) << d.log();
  ProcessGuard g(target);
  const std::string log = d.log();
  const size_t at = log.find(", session ");
  ASSERT_NE(at, std::string::npos) << log;
  const uint64_t session = std::stoull(log.substr(at + 10), nullptr, 16);
  auto ep = parse_endpoint(d.address());
  ASSERT_TRUE(ep.ok());
  for (wire::Role role : {wire::Role::control_reconnect, wire::Role::bulk_reconnect,
                          wire::Role::bulk}) {
    auto c = Connection::connect(*ep, 2000);
    ASSERT_TRUE(c.ok());
    const std::vector<uint8_t> guess(32, 0x5a);
    auto h = handshake_dial(*c, guess, role, session, false, 5000);
    ASSERT_FALSE(h.ok()) << "a channel was opened without the secret";
  }
  EXPECT_TRUE(wait_for(
      [&] {
        const std::string l = d.log();
        size_t n = 0;
        for (size_t p = l.find("connection refused"); p != std::string::npos;
             p = l.find("connection refused", p + 1))
          n++;
        return n >= 3;
      },
      std::chrono::seconds(5)))
      << d.log();
  const CmdResult r = m.finish();
  ASSERT_EQ(r.exit_code, 0) << r.err << d.log();
  w.reap_source();
  std::string v = w.check(target, 1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

} // namespace
} // namespace lmig::test
