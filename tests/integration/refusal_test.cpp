// Bad input on the source: each gets a clear error naming what and why, a
// non-zero exit, and the process (when there is one) keeps running untouched.
#include <gtest/gtest.h>

#include <unistd.h>

#include "tests/integration/harness.hpp"

namespace lmig::test {
namespace {

CmdResult lmig_stop_copy(const std::string &pid, const std::string &dest) {
  return run({bin("LMIG"), "--stop-copy", pid, dest});
}

TEST(Refusal, NoSuchPid) {
  // PIDs above pid_max never exist.
  CmdResult r = lmig_stop_copy("4194304", "127.0.0.1:1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no process with PID 4194304"), std::string::npos) << r.err;
}

TEST(Refusal, NotAPid) {
  CmdResult r = lmig_stop_copy("12abc", "127.0.0.1:1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a PID"), std::string::npos) << r.err;
}

TEST(Refusal, KernelThread) {
  ASSERT_NE(read_file("/proc/2/status").find("kthreadd"), std::string::npos);
  CmdResult r = lmig_stop_copy("2", "127.0.0.1:1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("kernel thread"), std::string::npos) << r.err;
}

TEST(Refusal, Init) {
  CmdResult r = lmig_stop_copy("1", "127.0.0.1:1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is init"), std::string::npos) << r.err;
}

TEST(Refusal, LmigItself) {
  // The shell's PID becomes lmig's through exec.
  CmdResult r = run({"/bin/sh", "-c", "exec \"$0\" --stop-copy $$ 127.0.0.1:1", bin("LMIG")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is lmig itself"), std::string::npos) << r.err;
}

TEST(Refusal, BadDestination) {
  Workload w({}, 1);
  CmdResult r = lmig_stop_copy(std::to_string(w.pid()), "nowhere");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("expected HOST:PORT"), std::string::npos) << r.err;
  EXPECT_EQ(w.check(w.pid(), 1).substr(0, 4), "PASS");
}

// A shell's background job is in the shell's session and process group,
// whose leader would not move with it.
TEST(Refusal, SessionLedByAnotherProcess) {
  TempDir tmp;
  pid_t sh = spawn({"/bin/sh", "-c", "sleep 60 & wait"}, tmp.file("out"), tmp.file("err"));
  std::string children;
  ASSERT_TRUE(wait_for(
      [&] {
        children = read_file("/proc/" + std::to_string(sh) + "/task/" + std::to_string(sh) +
                             "/children");
        return !children.empty() && proc_state(std::stoi(children)) == 'S';
      },
      std::chrono::seconds(10)));
  pid_t job = std::stoi(children);
  CmdResult r = lmig_stop_copy(std::to_string(job), "127.0.0.1:1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is in session " + std::to_string(sh)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not supported yet"), std::string::npos) << r.err;
  EXPECT_TRUE(alive(job));
  kill_and_reap(job);
  kill_and_reap(sh);
}

struct UnsupportedCase {
  const char *flag;
  const char *message;
};

class RefusalUnsupported : public ::testing::TestWithParam<UnsupportedCase> {};

TEST_P(RefusalUnsupported, NamesWhatAndLeavesTheProcessRunning) {
  Lmigd d;
  Workload w({GetParam().flag}, 2);
  CmdResult r = lmig_stop_copy(std::to_string(w.pid()), d.address());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(GetParam().message), std::string::npos) << r.err;
  EXPECT_EQ(proc_state(w.pid()) == 't', false);
  EXPECT_EQ(w.check(w.pid(), 1).substr(0, 4), "PASS");
  EXPECT_EQ(d.log().find("connected"), std::string::npos) << "refused before reaching the target";
}

INSTANTIATE_TEST_SUITE_P(
    Fds, RefusalUnsupported,
    ::testing::Values(UnsupportedCase{"--tcp-socket", "TCP socket is not supported yet"},
                      UnsupportedCase{"--netlink", "netlink socket is not supported yet"}));

TEST(Refusal, CheckCommandSaysWhy) {
  Workload w({"--tcp-socket"}, 1);
  CmdResult r = run({bin("LMIG"), "--check", std::to_string(w.pid())});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("TCP socket"), std::string::npos) << r.err;
  Workload ok({}, 1);
  r = run({bin("LMIG"), "--check", std::to_string(ok.pid())});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// --check does not stop at the first blocker: it lists every one, a line
// each, naming the fd.
TEST(Refusal, CheckListsEveryBlocker) {
  Workload w({"--tcp-socket", "--netlink"}, 1);
  CmdResult r = run({bin("LMIG"), "--check", std::to_string(w.pid())});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("TCP socket is not supported yet"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("netlink socket is not supported yet"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 things above stop it"), std::string::npos) << r.err;
  expect_untouched(w, 1);
}

} // namespace
} // namespace lmig::test
