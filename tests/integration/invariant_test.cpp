// The promise when a side dies: at every instant at most one copy of the
// process runs, and at least one copy holds all of its state. Each test
// makes one break happen (the restored process killed, lmigd or lmig
// killed) at a chosen phase, then checks which copy survived and that it is
// intact.
#include <gtest/gtest.h>

#include <signal.h>

#include <thread>

#include "tests/integration/harness.hpp"

namespace lmig::test {
namespace {

// A post-copy migration run on a thread, its push held back so that the
// process runs on the target long before its memory is all there.
class HeldBackPostcopy {
public:
  HeldBackPostcopy(pid_t pid, const Lmigd &d, int push_delay_ms = 8000) {
    t_ = std::thread([this, pid, &d, push_delay_ms] {
      result_ = run({bin("LMIG"), "--postcopy", std::to_string(pid), d.address(), "--json",
                     "--reconnect-timeout", "1500"},
                    std::chrono::seconds(120),
                    {{"LMIG_TEST_PUSH_DELAY_MS", std::to_string(push_delay_ms)}});
    });
  }
  ~HeldBackPostcopy() {
    if (t_.joinable())
      t_.join();
  }
  const CmdResult &result() {
    if (t_.joinable())
      t_.join();
    return result_;
  }

private:
  std::thread t_;
  CmdResult result_;
};

// The source copy is kept stopped, whole: SIGCONT resumes it and it checks
// out.
void expect_kept_stopped(Workload &w, unsigned seq) {
  ASSERT_TRUE(alive(w.pid()));
  ASSERT_TRUE(wait_for([&] { return proc_state(w.pid()) == 'T'; }, std::chrono::seconds(5)))
      << "state " << proc_state(w.pid());
  ::kill(w.pid(), SIGCONT);
  std::string v = w.check(w.pid(), seq);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

TEST(Invariant, RestoredProcessKilledBeforeItsPagesArriveFailsAndKeepsTheSource) {
  Lmigd d;
  Workload w({}, 64);
  HeldBackPostcopy m(w.pid(), d);
  pid_t target = d.wait_running();
  ASSERT_GT(target, 0) << d.log();
  ProcessGuard g(target);
  ASSERT_EQ(::kill(target, SIGKILL), 0);
  const CmdResult &r = m.result();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("killed by signal 9 (SIGKILL)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("left stopped"), std::string::npos) << r.err;
  EXPECT_NE(d.log().find("killed by signal 9 (SIGKILL)"), std::string::npos) << d.log();
  expect_kept_stopped(w, 1);
}

TEST(Invariant, RestoredProcessExitingByItselfIsASuccessWithItsStatus) {
  Lmigd d;
  Workload w({"--exit-at-check", "7"}, 64);
  pid_t src = w.pid();
  HeldBackPostcopy m(src, d);
  pid_t target = d.wait_running();
  ASSERT_GT(target, 0) << d.log();
  ProcessGuard g(target);
  ASSERT_EQ(::kill(target, SIGUSR1), 0);
  const CmdResult &r = m.result();
  ASSERT_EQ(r.exit_code, 0) << r.err << d.log();
  auto json = parse_json_object(r.out);
  EXPECT_EQ(json["exit_status"], "7") << r.out;
  w.reap_source();
  EXPECT_FALSE(alive(src)) << "the source copy must be gone";
}

} // namespace
} // namespace lmig::test
