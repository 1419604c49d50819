// The promise when a side dies: at every instant at most one copy of the
// process runs, and at least one copy holds all of its state. Each test
// makes one break happen (the restored process killed, lmigd or lmig
// killed) at a chosen phase, then checks which copy survived and that it is
// intact.
#include <gtest/gtest.h>

#include <linux/capability.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <memory>
#include <thread>

#include "tests/integration/harness.hpp"

namespace lmig::test {
namespace {

// A post-copy migration in the background, its push held back so that the
// process runs on the target long before its memory is all there.
std::unique_ptr<Background> held_back_postcopy(pid_t pid, const Lmigd &d,
                                               int push_delay_ms = 8000) {
  return std::make_unique<Background>(
      std::vector<std::string>{bin("LMIG"), "--postcopy", std::to_string(pid), d.address(),
                               "--json", "--reconnect-timeout", "1500"},
      Env{{"LMIG_TEST_PUSH_DELAY_MS", std::to_string(push_delay_ms)}});
}

// A held-back post-copy migration whose process runs on the target: lmig in
// the background, its worker, the target's PID (guarded).
struct Switched {
  std::unique_ptr<Background> lmig;
  pid_t worker = -1;
  pid_t target = -1;
  std::unique_ptr<ProcessGuard> guard;
};

Switched switched_over(pid_t pid, const Lmigd &d, int push_delay_ms = 8000) {
  Switched s;
  s.lmig = held_back_postcopy(pid, d, push_delay_ms);
  s.target = d.wait_running();
  s.guard = std::make_unique<ProcessGuard>(s.target);
  s.worker = migration_worker_of(s.lmig->pid());
  return s;
}

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
  Switched sw = switched_over(w.pid(), d);
  auto &m = sw.lmig;
  const pid_t target = sw.target;
  ASSERT_GT(target, 0) << d.log();
  ASSERT_EQ(::kill(target, SIGKILL), 0);
  const CmdResult r = m->finish();
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
  Switched sw = switched_over(src, d);
  auto &m = sw.lmig;
  const pid_t target = sw.target;
  ASSERT_GT(target, 0) << d.log();
  ASSERT_EQ(::kill(target, SIGUSR1), 0);
  const CmdResult r = m->finish();
  ASSERT_EQ(r.exit_code, 0) << r.err << d.log();
  auto json = parse_json_object(r.out);
  EXPECT_EQ(json["exit_status"], "7") << r.out;
  w.reap_source();
  EXPECT_FALSE(alive(src)) << "the source copy must be gone";
}

// lmigd dies while the restored process waits on a page: the process dies
// with it, before reading anything (a released userfaultfd would hand it a
// zero page), and the source keeps its copy, stopped.
TEST(Invariant, LmigdKilledDuringPostcopyTakesTheRestoredProcessAlong) {
  Lmigd d;
  Workload w({}, 64);
  Switched sw = switched_over(w.pid(), d);
  auto &m = sw.lmig;
  const pid_t target = sw.target;
  ASSERT_GT(target, 0) << d.log();
  // The page server (lmig's worker) answers nothing more; the check reads
  // all the memory, so the process blocks on its first page from the source.
  const pid_t worker = sw.worker;
  ASSERT_GT(worker, 0);
  ASSERT_EQ(::kill(worker, SIGSTOP), 0);
  ASSERT_EQ(::kill(target, SIGUSR1), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  d.kill9();
  EXPECT_TRUE(wait_for([&] { return !alive(target); }, std::chrono::seconds(5)))
      << "the restored process outlived its pager";
  EXPECT_EQ(read_file(w.dir().file("verdict")), "") << "it ran on without its memory";
  ::kill(worker, SIGCONT);
  const CmdResult r = m->finish();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("left stopped"), std::string::npos) << r.err;
  expect_kept_stopped(w, 1);
}

// lmig's worker dies after the switchover (with lmig: a kill -9 of its
// process group, the OOM killer): the source stays stopped (a SIGSTOP queued
// before the switchover stops it as soon as the kernel lets it go), never
// running next to the target's copy, which lmigd ends once the source does
// not come back.
TEST(Invariant, LmigAndItsWorkerKilledAfterTheSwitchoverLeaveTheSourceStopped) {
  Lmigd d({"--reconnect-timeout", "1500"});
  Workload w({}, 64);
  Switched sw = switched_over(w.pid(), d);
  auto &m = sw.lmig;
  const pid_t target = sw.target;
  ASSERT_GT(target, 0) << d.log();
  const pid_t worker = sw.worker;
  ASSERT_GT(worker, 0);
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  ASSERT_EQ(::kill(m->pid(), SIGKILL), 0);
  m->finish();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(proc_state(w.pid()), 'T') << "the source runs next to the target's copy";
  EXPECT_TRUE(wait_for([&] { return !alive(target); }, std::chrono::seconds(10)))
      << "the half-migrated copy outlived the source's page server";
  EXPECT_TRUE(wait_for([&] { return d.log().find("was killed") != std::string::npos; },
                       std::chrono::seconds(5)))
      << d.log();
  expect_kept_stopped(w, 1);
}

// lmig alone is killed after the switchover: its worker goes on serving
// the pages until the target has them all, then ends the source, which
// never runs meanwhile.
TEST(Invariant, LmigKilledAfterTheSwitchoverStillCompletesTheMigration) {
  Lmigd d;
  Workload w({}, 64);
  pid_t src = w.pid();
  Switched sw = switched_over(src, d, 1500);
  auto &m = sw.lmig;
  const pid_t target = sw.target;
  ASSERT_GT(target, 0) << d.log();
  const pid_t worker = sw.worker;
  ASSERT_GT(worker, 0);
  ASSERT_EQ(::kill(m->pid(), SIGKILL), 0);
  m->finish();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(proc_state(src), 't') << "the source must stay frozen by the worker";
  // Until it is ended: a running wl_state sleeps in its loop ('S'); a
  // killed one may show 'R' or 'D' on its way out.
  EXPECT_TRUE(wait_for(
      [&] {
        EXPECT_NE(proc_state(src), 'S') << "the source runs";
        return !alive(src) && !alive(worker);
      },
      std::chrono::seconds(30)))
      << d.log();
  EXPECT_NE(d.log().find("post-copy of PID " + std::to_string(src) + " complete"),
            std::string::npos)
      << d.log();
  std::string v = w.check(target, 1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

// lmig is killed while a thread of the process has its registers borrowed
// for a remote system call: its worker puts them back, calls the migration
// off and lets the process go, which runs on exactly as before. So too when
// lmig's whole process group is killed (a shell's `kill -9 %1`).
TEST(Invariant, LmigKilledDuringTheCaptureLeavesTheSourceRunningAsBefore) {
  for (const char *mode : {"--stop-copy", "--postcopy"})
  for (bool group : {false, true}) {
    SCOPED_TRACE(std::string(mode) + (group ? ", process group" : ", lmig alone"));
    Lmigd d;
    Workload w({"--spin"}, 16);
    Background m({bin("LMIG"), mode, std::to_string(w.pid()), d.address()},
                 {{"LMIG_TEST_PAUSE_IN_SYSCALL_MS", "1000"}});
    ASSERT_TRUE(wait_for([&] { return proc_state(w.pid()) == 't'; }, std::chrono::seconds(5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // inside the paused syscall
    const pid_t worker = migration_worker_of(m.pid());
    ASSERT_GT(worker, 0);
    if (has_capability(CAP_SYS_RESOURCE)) { // lowering it takes that
      EXPECT_EQ(read_file("/proc/" + std::to_string(worker) + "/oom_score_adj"), "-1000\n")
          << "the OOM killer would take the worker first";
    }
    ASSERT_EQ(::kill(group ? -m.pid() : m.pid(), SIGKILL), 0); // lmig leads its group
    m.finish();
    EXPECT_TRUE(wait_for(
        [&] {
          return read_file("/proc/" + std::to_string(w.pid()) + "/status")
                     .find("TracerPid:\t0\n") != std::string::npos;
        },
        std::chrono::seconds(10)))
        << "still traced";
    EXPECT_TRUE(alive(w.pid()));
    EXPECT_NE(proc_state(w.pid()), 'T') << "left stopped";
    std::string v = w.check(w.pid(), 1);
    EXPECT_EQ(v.substr(0, 4), "PASS") << v;
    EXPECT_TRUE(wait_for([&] { return d.log().find("migration failed") != std::string::npos; },
                         std::chrono::seconds(5)))
        << d.log();
  }
}

// A memory cgroup of the test's own, under the one this test runs in (v2,
// or v1's memory hierarchy), with a limit; removed at the end.
class MemoryCgroup {
public:
  explicit MemoryCgroup(uint64_t limit_bytes) {
    std::string self = read_file("/proc/self/cgroup"), v1, v2;
    std::istringstream lines(self);
    for (std::string l; std::getline(lines, l);) {
      if (l.rfind("0::", 0) == 0)
        v2 = l.substr(3);
      else if (l.find(":memory:") != std::string::npos)
        v1 = l.substr(l.find(":memory:") + 8);
    }
    const bool unified = !read_file("/sys/fs/cgroup/cgroup.controllers").empty();
    const std::string base = unified ? "/sys/fs/cgroup" + v2 : "/sys/fs/cgroup/memory" + v1;
    dir_ = base + "/lmig-test-" + std::to_string(::getpid());
    if (::mkdir(dir_.c_str(), 0755) < 0)
      throw std::runtime_error("mkdir " + dir_);
    std::ofstream(dir_ + (unified ? "/memory.max" : "/memory.limit_in_bytes"))
        << limit_bytes << "\n";
  }
  ~MemoryCgroup() {
    for (int i = 0; i < 100 && ::rmdir(dir_.c_str()) < 0 && errno == EBUSY; i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // A command prefix that runs the command inside it.
  std::vector<std::string> wrapper() const {
    return {"sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", dir_};
  }

private:
  std::string dir_;
};

// lmigd in a memory cgroup too small for the process: refused by name when
// the hello arrives, before anything is frozen; the source runs on.
TEST(Invariant, ATargetWithoutRoomForTheProcessRefusesItBeforeTheFreeze) {
  MemoryCgroup cg(48u << 20);
  for (const char *mode : {"--postcopy", "--stop-copy"}) {
    SCOPED_TRACE(mode);
    Lmigd d({}, cg.wrapper());
    Workload w({}, 64);
    CmdResult r = run({bin("LMIG"), mode, std::to_string(w.pid()), d.address()});
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.err.find("not enough memory here"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("memory cgroup"), std::string::npos) << r.err;
    expect_untouched(w, 1);
  }
}

// The target fails at the last moment, when the source has armed its stop:
// the source takes the SIGSTOP back and resumes exactly as it was.
TEST(Invariant, TargetFailingAtTheSwitchoverResumesTheSourceUntouched) {
  for (const char *mode : {"--stop-copy", "--postcopy"}) {
    SCOPED_TRACE(mode);
    Workload w({}, 8);
    Lmigd d({}, {"env", "LMIG_TEST_FAIL_RUN=1"});
    CmdResult r = run({bin("LMIG"), mode, std::to_string(w.pid()), d.address()});
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.err.find("LMIG_TEST_FAIL_RUN"), std::string::npos) << r.err;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    expect_untouched(w, 1);
  }
}

} // namespace
} // namespace lmig::test
