// Certificates between real lmig and lmigd: with a CA both trust, a process
// moves sealed and each end logs whom it dealt with; a source or a target
// the CA did not sign for, or one without a certificate, is refused by name
// and the source runs on untouched. With certificates lmigd may listen
// beyond loopback without --insecure.
#include <gtest/gtest.h>

#include <thread>

#include "lmig/lmig.h"
#include "tests/integration/harness.hpp"
#include "tests/integration/tcp_proxy.hpp"
#include "tests/pki/test_pki.hpp"

namespace lmig::test {
namespace {

// Certificate, key and CA files of one host, in `dir`.
std::vector<std::string> host_files(const TempDir &dir, const std::string &name, const Pem &pem,
                                    const std::string &ca_pem) {
  write_file(dir.file((name + ".crt").c_str()), pem.cert, 0644);
  write_file(dir.file((name + ".key").c_str()), pem.key, 0600);
  write_file(dir.file((name + "-ca.crt").c_str()), ca_pem, 0644);
  return {"--cert", dir.file((name + ".crt").c_str()), "--key",
          dir.file((name + ".key").c_str()), "--ca", dir.file((name + "-ca.crt").c_str())};
}

LeafSpec named(const std::string &cn, std::vector<std::string> ips = {"127.0.0.1"}) {
  LeafSpec s;
  s.cn = cn;
  s.dns = {cn};
  s.ips = std::move(ips);
  return s;
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string> &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Pki {
  TempDir dir;
  TestCa ca{"lmig test CA"};
  std::vector<std::string> source = host_files(dir, "source", ca.issue(named("source.test")),
                                               ca.cert_pem());
  std::vector<std::string> target = host_files(dir, "target", ca.issue(named("target.test")),
                                               ca.cert_pem());
};

TEST(Certificates, AProcessMovesBetweenHostsTheCaSignedForAndNothingCrossesInClear) {
  Pki pki;
  Lmigd d(pki.target);
  Workload w({}, 16);
  TcpProxy proxy(d.port());
  proxy.watch_for(w.dir().path());
  CmdResult r = run(with({bin("LMIG"), "--postcopy", std::to_string(w.pid()), proxy.address(),
                          "--json"},
                         pki.source),
                    std::chrono::seconds(60));
  Moved m(r, w);
  ASSERT_GT(m.pid(), 0) << r.err << d.log();
  EXPECT_FALSE(proxy.seen()) << "the image crossed the wire in clear";
  std::string v = m.check(1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
  EXPECT_NE(d.log().find("certificate /CN=source.test"), std::string::npos) << d.log();
}

TEST(Certificates, ASourceAnotherCaSignedForIsRefusedAndResumesUntouched) {
  Pki pki;
  TestCa rogue("rogue CA");
  auto source = host_files(pki.dir, "rogue", rogue.issue(named("source.test")), pki.ca.cert_pem());
  Lmigd d(pki.target);
  Workload w({}, 8);
  CmdResult r = run(with({bin("LMIG"), "--postcopy", std::to_string(w.pid()), d.address()}, source));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the source's certificate (/CN=source.test) is not accepted"),
            std::string::npos)
      << r.err;
  expect_untouched(w, 1);
  EXPECT_NE(d.log().find("connection refused"), std::string::npos) << d.log();
}

TEST(Certificates, ATargetWhoseCertificateNamesAnotherHostGetsNothingUnlessNamed) {
  Pki pki;
  // The target's certificate names target.test, not the address dialled.
  auto target = host_files(pki.dir, "named", pki.ca.issue(named("target.test", {})),
                           pki.ca.cert_pem());
  Lmigd d(target);
  Workload w({}, 8);
  CmdResult r = run(with({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), d.address()},
                         pki.source));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not name 127.0.0.1"), std::string::npos) << r.err;
  expect_untouched(w, 1);

  r = run(with({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), d.address(), "--json",
                "--peer-name", "target.test"},
               pki.source),
          std::chrono::seconds(60));
  Moved m(r, w);
  ASSERT_GT(m.pid(), 0) << r.err << d.log();
  std::string v = m.check(2);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

TEST(Certificates, WithCertificatesOnOneSideOnlyNothingMoves) {
  Pki pki;
  {
    Lmigd d; // no certificate
    Workload w({}, 4);
    CmdResult r = run(with({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), d.address()},
                           pki.source));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("the target showed no certificate"), std::string::npos) << r.err;
    expect_untouched(w, 1);
  }
  Lmigd d(pki.target);
  Workload w({}, 4);
  CmdResult r = run({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), d.address()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the source showed no certificate"), std::string::npos) << r.err;
  expect_untouched(w, 1);
}

TEST(Certificates, IncompleteOrUnreadableCredentialsAreRefusedBeforeAnythingHappens) {
  Pki pki;
  Workload w({}, 4);
  CmdResult r = run({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), "127.0.0.1:9",
                     "--cert", pki.source[1]});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("give all three"), std::string::npos) << r.err;
  ::chmod(pki.source[3].c_str(), 0644);
  r = run(with({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), "127.0.0.1:9"}, pki.source));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  expect_untouched(w, 1);
  r = run(with({bin("LMIGD"), "--listen", "127.0.0.1:0", "--once"},
               {"--cert", pki.target[1], "--key", pki.source[3], "--ca", pki.target[5]}),
          std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
}

// The README's way: scripts/make-certs makes the CA and both hosts' files.
TEST(Certificates, TheOnesMakeCertsMakesWork) {
  TempDir dir;
  CmdResult made = run({bin("MAKE_CERTS"), dir.path(), "source.test,127.0.0.1",
                        "target.test,127.0.0.1"},
                       std::chrono::seconds(60));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto files = [&](const std::string &host) {
    return std::vector<std::string>{"--cert", dir.path() + "/" + host + ".crt", "--key",
                                    dir.path() + "/" + host + ".key", "--ca",
                                    dir.path() + "/ca.crt"};
  };
  Lmigd d(files("target.test"));
  Workload w({}, 8);
  CmdResult r = run(with({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), d.address(),
                          "--json"},
                         files("source.test")),
                    std::chrono::seconds(60));
  Moved m(r, w);
  ASSERT_GT(m.pid(), 0) << r.err << d.log();
  std::string v = m.check(1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

// The C API takes the same credentials as PEM text in memory, on both sides.
TEST(Certificates, TheCApiTakesThemAsPemInMemory) {
  TestCa ca("lmig test CA");
  Pem source = ca.issue(named("source.test")), target = ca.issue(named("target.test"));
  lmig_server_options so{};
  so.size = sizeof so;
  so.listen = "127.0.0.1:0";
  so.once = 1;
  so.cert_pem = target.cert.c_str();
  so.key_pem = target.key.c_str();
  so.ca_pem = ca.cert_pem().c_str();
  lmig_server *srv = nullptr;
  lmig_error err{};
  err.size = sizeof err;
  ASSERT_EQ(lmig_server_create(&so, &srv, &err), LMIG_OK) << err.message;
  const std::string dest = "127.0.0.1:" + std::to_string(lmig_server_port(srv));
  lmig_status served = LMIG_ERR_INTERNAL;
  std::thread t([&] {
    lmig_error e{};
    e.size = sizeof e;
    served = lmig_server_run(srv, &e);
  });

  Workload w({}, 8);
  lmig_migrate_options o{};
  o.size = sizeof o;
  o.mode = LMIG_MODE_STOP_COPY;
  o.destination = dest.c_str();
  o.cert_pem = source.cert.c_str();
  o.key_pem = source.key.c_str();
  o.ca_pem = ca.cert_pem().c_str();
  o.peer_name = "target.test";
  lmig_stats st{};
  st.size = sizeof st;
  lmig_status got = lmig_migrate(w.pid(), &o, &st, &err);
  t.join();
  lmig_server_destroy(srv);
  ASSERT_EQ(got, LMIG_OK) << err.message;
  EXPECT_EQ(served, LMIG_OK);
  ProcessGuard g(st.target_pid);
  w.reap_source();
  std::string v = w.check(st.target_pid, 1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

// Certificates are credentials: lmigd serves beyond loopback with them (in a
// network namespace of the test's own).
TEST(Certificates, AreEnoughToListenBeyondLoopback) {
  Pki pki;
  Lmigd d(with({"--listen", "0.0.0.0:0"}, pki.target), {"unshare", "-n"});
  EXPECT_GT(d.port(), 0) << d.log();
}

} // namespace
} // namespace lmig::test
