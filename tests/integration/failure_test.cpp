// Failures on the way to the target: the error names what failed on which
// side, and the source process resumes exactly as it was (or, when the
// outcome is unknown, is kept stopped so that no copy is lost).
#include <gtest/gtest.h>

#include <signal.h>

#include "tests/integration/fake_peer.hpp"
#include "tests/integration/harness.hpp"

namespace lmig::test {
namespace {

CmdResult stop_copy(pid_t pid, const std::string &dest) {
  return run({bin("LMIG"), "--stop-copy", std::to_string(pid), dest, "--io-timeout", "5000"});
}

TEST(Failure, TargetUnreachable) {
  Workload w({}, 4);
  // Bind then close: a loopback port with nobody listening.
  FakePeer closed(PeerScript::garbage);
  std::string dest = closed.address();
  closed.join();
  ::usleep(10000);
  CmdResult r = stop_copy(w.pid(), dest);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot reach " + dest), std::string::npos) << r.err;
  expect_untouched(w, 1);
}

TEST(Failure, TargetLacksAMappedFile) {
  Workload w({}, 4);
  // lmigd in its own mount namespace where the workload's directory (and
  // the file it maps) is hidden under an empty tmpfs.
  Lmigd d({}, {"unshare", "-m", "--propagation", "private", "sh", "-c",
               "mount -t tmpfs none \"$0\" && exec \"$@\"", w.dir().path()});
  CmdResult r = stop_copy(w.pid(), d.address());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("target: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(w.dir().file("map.bin")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
  expect_untouched(w, 1);
  EXPECT_NE(d.log().find("migration failed"), std::string::npos) << d.log();
}

TEST(Failure, TargetSpeaksGarbage) {
  Workload w({}, 2);
  FakePeer p(PeerScript::garbage);
  CmdResult r = stop_copy(w.pid(), p.address());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not speak the lmig protocol"), std::string::npos) << r.err;
  expect_untouched(w, 1);
}

TEST(Failure, TargetClosesAfterHello) {
  Workload w({}, 2);
  FakePeer p(PeerScript::close_after_hello);
  CmdResult r = stop_copy(w.pid(), p.address());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("closed the connection"), std::string::npos) << r.err;
  expect_untouched(w, 1);
}

TEST(Failure, TargetClosesAfterTheImage) {
  Workload w({}, 2);
  FakePeer p(PeerScript::close_after_image);
  CmdResult r = stop_copy(w.pid(), p.address());
  p.join();
  EXPECT_EQ(p.reached(), "image");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("closed the connection"), std::string::npos) << r.err;
  expect_untouched(w, 1);
}

TEST(Failure, TargetReportsAnError) {
  Workload w({}, 2);
  FakePeer p(PeerScript::error_after_image);
  CmdResult r = stop_copy(w.pid(), p.address());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("target: restore failed: disk full (injected)"), std::string::npos) << r.err;
  expect_untouched(w, 1);
}

TEST(Failure, TargetClosesInTheMiddleOfThePages) {
  Workload w({}, 16);
  FakePeer p(PeerScript::close_mid_pages);
  CmdResult r = stop_copy(w.pid(), p.address());
  p.join();
  EXPECT_EQ(p.reached(), "pages");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.err.find("broke") != std::string::npos ||
              r.err.find("closed the connection") != std::string::npos)
      << r.err;
  expect_untouched(w, 1);
}

TEST(Failure, OutcomeUnknownLeavesTheSourceStoppedNotLost) {
  Workload w({}, 2);
  FakePeer p(PeerScript::vanish_after_pages);
  CmdResult r = stop_copy(w.pid(), p.address());
  p.join();
  EXPECT_EQ(p.reached(), "pages_end");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("switchover outcome unknown"), std::string::npos) << r.err;
  EXPECT_TRUE(wait_for([&] { return proc_state(w.pid()) == 'T'; }, std::chrono::seconds(5)))
      << "state " << proc_state(w.pid());
  ::kill(w.pid(), SIGCONT);
  expect_untouched(w, 1);
}

} // namespace
} // namespace lmig::test
