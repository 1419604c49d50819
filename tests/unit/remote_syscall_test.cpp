// RemoteSyscaller and find_syscall_instruction on real children: system
// calls made on a stopped child's behalf, after which it must go on exactly
// as if nothing had happened.
#include "engine/ptrace/remote_syscall.hpp"

#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/capture/proc_status.hpp"
#include "engine/ptrace/ptrace_ops.hpp"

namespace lmig {
namespace {

using ptrace::StopInfo;
using testing::Child;
using testing::Report;
using testing::sig_bit;

constexpr unsigned long kOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL;
constexpr int64_t kErestartnohand = -514, kErestartRestartblock = -516;

template <typename T> std::string err(const Result<T> &r) {
  return r.ok() ? "" : r.error().message;
}

uint64_t our_sigmask() {
  sigset_t s;
  sigprocmask(SIG_BLOCK, nullptr, &s);
  uint64_t m = 0;
  std::memcpy(&m, &s, sizeof m);
  return m;
}

Child start(void (*body)(int, int), long blocked_in = -1) {
  Child c = Child::spawn(body);
  Report r;
  EXPECT_TRUE(c.read_report(r)) << "child did not report ready";
  EXPECT_EQ(r.tag, 'R');
  if (blocked_in >= 0) {
    EXPECT_TRUE(testing::wait_blocked_in(c.pid(), blocked_in));
  }
  return c;
}

void seize_and_interrupt(pid_t pid) {
  ASSERT_TRUE(ptrace::seize(pid, kOptions).ok());
  ASSERT_TRUE(ptrace::interrupt(pid).ok());
  StopInfo s{};
  auto r = ptrace::wait_stop_for(pid, 3000, s);
  ASSERT_TRUE(r.ok() && *r) << "no stop";
  ASSERT_EQ(s.kind, StopInfo::event_stop) << ptrace::describe(s);
}

// Reads len bytes of the child's memory at addr (empty on failure).
std::vector<uint8_t> peek(pid_t pid, uint64_t addr, size_t len) {
  std::vector<uint8_t> buf(len);
  iovec local{buf.data(), len};
  iovec remote{reinterpret_cast<void *>(addr), len};
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(len))
    return {};
  return buf;
}

const MapsEntry *mapping_at(const std::vector<MapsEntry> &maps, uint64_t addr) {
  for (const auto &e : maps)
    if (addr >= e.start && addr < e.end)
      return &e;
  return nullptr;
}

// A child stopped for remote calls: seized, interrupted, syscall found.
struct Stopped {
  Child child;
  uint64_t insn = 0;
};

// blocked_in: the system call the child sleeps in, or -1 for a child that
// spins in user code (then it is stopped again until it stops there).
Stopped stop(void (*body)(int, int), long blocked_in) {
  Stopped s{start(body, blocked_in)};
  const pid_t pid = s.child.pid();
  if (blocked_in >= 0) {
    seize_and_interrupt(pid);
  } else {
    EXPECT_TRUE(ptrace::seize(pid, kOptions).ok());
    for (int attempt = 0;; attempt++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      EXPECT_TRUE(ptrace::interrupt(pid).ok());
      StopInfo st{};
      auto w = ptrace::wait_stop_for(pid, 3000, st);
      EXPECT_TRUE(w.ok() && *w && st.kind == StopInfo::event_stop);
      auto regs = ptrace::get_regs(pid);
      if (!regs.ok() || (*regs)[kOrigRax] == static_cast<uint64_t>(-1) || attempt == 100)
        break;
      EXPECT_TRUE(ptrace::cont(pid).ok()); // still on its way into the loop
    }
  }
  auto insn = find_syscall_instruction(pid);
  EXPECT_TRUE(insn.ok()) << err(insn);
  if (insn.ok())
    s.insn = *insn;
  return s;
}

// After detaching from a pause_child: it sleeps in pause() again (the call
// was restarted, not failed with EINTR), and reacts to SIGUSR1 as it should.
void expect_pause_child_unharmed(const Child &c, uint64_t expected_mask) {
  EXPECT_TRUE(testing::wait_blocked_in(c.pid(), SYS_pause)) << "child is not back in pause()";
  EXPECT_FALSE(c.report_pending(50)) << "pause() returned to the program";
  ASSERT_EQ(kill(c.pid(), SIGUSR1), 0);
  Report r;
  ASSERT_TRUE(c.read_report(r)) << "no report after SIGUSR1";
  EXPECT_EQ(r.tag, 'P');
  EXPECT_EQ(r.pause_returns, 1) << "pause() returned more than once";
  EXPECT_EQ(r.handler_runs, 1);
  EXPECT_EQ(r.ret, -1);
  EXPECT_EQ(r.err, EINTR);
  EXPECT_EQ(r.sigmask, expected_mask);
  // and it goes on doing so
  EXPECT_TRUE(testing::wait_blocked_in(c.pid(), SYS_pause));
  ASSERT_EQ(kill(c.pid(), SIGUSR1), 0);
  ASSERT_TRUE(c.read_report(r));
  EXPECT_EQ(r.pause_returns, 2);
  EXPECT_EQ(r.handler_runs, 2);
}

// --- find_syscall_instruction -------------------------------------------------------

TEST(FindSyscallInstruction, InTheChildsVdso) {
  Stopped s = stop(testing::pause_child, SYS_pause);
  ASSERT_NE(s.insn, 0u);
  auto maps = read_maps(s.child.pid());
  ASSERT_TRUE(maps.ok()) << err(maps);
  const MapsEntry *m = mapping_at(*maps, s.insn);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->path, "[vdso]");
  EXPECT_TRUE(m->exec);
  EXPECT_LE(s.insn + 2, m->end);
  auto bytes = peek(s.child.pid(), s.insn, 2);
  ASSERT_EQ(bytes.size(), 2u);
  EXPECT_EQ(bytes[0], 0x0f);
  EXPECT_EQ(bytes[1], 0x05);
}

TEST(FindSyscallInstruction, InOurselves) {
  auto insn = find_syscall_instruction(getpid());
  ASSERT_TRUE(insn.ok()) << err(insn);
  const auto *p = reinterpret_cast<const uint8_t *>(*insn);
  EXPECT_EQ(p[0], 0x0f);
  EXPECT_EQ(p[1], 0x05);
}

TEST(FindSyscallInstruction, NoSuchProcess) {
  auto insn = find_syscall_instruction(0x3fffffff);
  ASSERT_FALSE(insn.ok());
  EXPECT_EQ(insn.error().sys_errno, ENOENT);
}

// --- remote calls -------------------------------------------------------------------

TEST(RemoteSyscaller, GetpidAndFriends) {
  Stopped s = stop(testing::pause_child, SYS_pause);
  const pid_t pid = s.child.pid();
  auto orig_regs = ptrace::get_regs(pid);
  ASSERT_TRUE(orig_regs.ok());
  auto orig_mask = ptrace::get_sigmask(pid);
  ASSERT_TRUE(orig_mask.ok());
  EXPECT_EQ(*orig_mask, our_sigmask() | sig_bit(SIGUSR2));

  auto rs = RemoteSyscaller::attach(pid, s.insn);
  ASSERT_TRUE(rs.ok()) << err(rs);
  EXPECT_EQ(rs->original_regs(), *orig_regs);
  // everything blockable is blocked while we drive it
  auto mask = ptrace::get_sigmask(pid);
  ASSERT_TRUE(mask.ok());
  EXPECT_EQ(*mask, ~0ull & ~sig_bit(SIGKILL) & ~sig_bit(SIGSTOP));

  auto r = rs->call(SYS_getpid);
  ASSERT_TRUE(r.ok()) << err(r);
  EXPECT_EQ(*r, pid);
  r = rs->call(SYS_gettid);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, pid);
  r = rs->call(SYS_getppid);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, getpid());
  // failures come back as negative errno values, not as Errors
  r = rs->call(SYS_close, {static_cast<uint64_t>(-1)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, -EBADF);
  r = rs->call(100000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, -ENOSYS);
  // arguments a call does not take are harmless (mmap, in the next test,
  // checks that all six land in the right registers)
  r = rs->call(SYS_getpid, {1, 2, 3, 4, 5, 6});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, pid);

  ASSERT_TRUE(rs->finish().ok());
  auto after = ptrace::get_regs(pid);
  ASSERT_TRUE(after.ok());
  // exactly the original registers, but with the interrupted pause() settled:
  // it will be re-entered instead of failing with EINTR
  RegsImage expected = *orig_regs;
  ASSERT_EQ(static_cast<int64_t>(expected[kRax]), kErestartnohand);
  expected[kRax] = SYS_pause;
  expected[kRip] -= 2;
  expected[kOrigRax] = static_cast<uint64_t>(-1);
  EXPECT_EQ(*after, expected);
  EXPECT_EQ(*after, ptrace::settle_interrupted_syscall(*orig_regs, false));
  auto mask_after = ptrace::get_sigmask(pid);
  ASSERT_TRUE(mask_after.ok());
  EXPECT_EQ(*mask_after, *orig_mask);

  ASSERT_TRUE(ptrace::detach(pid).ok());
  expect_pause_child_unharmed(s.child, *orig_mask);
}

TEST(RemoteSyscaller, MmapReadWriteMunmap) {
  Stopped s = stop(testing::pause_child, SYS_pause);
  const pid_t pid = s.child.pid();
  auto orig_mask = ptrace::get_sigmask(pid);
  ASSERT_TRUE(orig_mask.ok());
  auto rs = RemoteSyscaller::attach(pid, s.insn);
  ASSERT_TRUE(rs.ok()) << err(rs);

  auto m = rs->call(SYS_mmap, {0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                               static_cast<uint64_t>(-1), 0});
  ASSERT_TRUE(m.ok()) << err(m);
  ASSERT_GT(*m, 0) << "mmap failed: " << -*m;
  const auto addr = static_cast<uint64_t>(*m);
  EXPECT_EQ(addr % 4096, 0u);

  auto maps = read_maps(pid);
  ASSERT_TRUE(maps.ok());
  const MapsEntry *e = mapping_at(*maps, addr);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->read && e->write && !e->exec && !e->shared);
  EXPECT_EQ(e->inode, 0u);

  // fresh anonymous memory reads as zeros; what we write we read back
  auto zeros = peek(pid, addr, 4096);
  ASSERT_EQ(zeros.size(), 4096u);
  EXPECT_EQ(zeros, std::vector<uint8_t>(4096, 0));
  std::vector<uint8_t> pattern(4096);
  for (size_t i = 0; i < pattern.size(); i++)
    pattern[i] = static_cast<uint8_t>(i * 13 + 5);
  iovec local{pattern.data(), pattern.size()};
  iovec remote{reinterpret_cast<void *>(addr), pattern.size()};
  ASSERT_EQ(process_vm_writev(pid, &local, 1, &remote, 1, 0), 4096);
  EXPECT_EQ(peek(pid, addr, 4096), pattern);

  // the child's kernel writes into it too: getcwd() into the scratch page
  auto n = rs->call(SYS_getcwd, {addr, 4096});
  ASSERT_TRUE(n.ok());
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(*n, static_cast<int64_t>(std::strlen(cwd) + 1));
  auto got = peek(pid, addr, static_cast<size_t>(*n));
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(got.data())), cwd);

  auto un = rs->call(SYS_munmap, {addr, 4096});
  ASSERT_TRUE(un.ok());
  EXPECT_EQ(*un, 0);
  EXPECT_TRUE(peek(pid, addr, 1).empty()) << "page still readable after munmap";
  EXPECT_EQ(errno, EFAULT);
  maps = read_maps(pid);
  ASSERT_TRUE(maps.ok());
  e = mapping_at(*maps, addr);
  EXPECT_TRUE(e == nullptr) << "still mapped: " << std::hex << e->start << "-" << e->end;

  ASSERT_TRUE(rs->finish().ok());
  ASSERT_TRUE(ptrace::detach(pid).ok());
  expect_pause_child_unharmed(s.child, *orig_mask);
}

struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

TEST(RemoteSyscaller, RtSigactionReadsTheChildsHandlers) {
  Stopped s = stop(testing::pause_child, SYS_pause);
  const pid_t pid = s.child.pid();
  auto orig_mask = ptrace::get_sigmask(pid);
  ASSERT_TRUE(orig_mask.ok());
  auto rs = RemoteSyscaller::attach(pid, s.insn);
  ASSERT_TRUE(rs.ok()) << err(rs);
  auto m = rs->call(SYS_mmap, {0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                               static_cast<uint64_t>(-1), 0});
  ASSERT_TRUE(m.ok() && *m > 0);
  const auto scratch = static_cast<uint64_t>(*m);

  auto r = rs->call(SYS_rt_sigaction, {SIGUSR1, 0, scratch, 8});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(*r, 0);
  r = rs->call(SYS_rt_sigaction, {SIGUSR2, 0, scratch + 32, 8});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(*r, 0);
  // and one change: ignore SIGWINCH from now on
  KernelSigaction ign{reinterpret_cast<uint64_t>(SIG_IGN), 0x04000000, 0, 0};
  iovec local{&ign, sizeof ign};
  iovec remote{reinterpret_cast<void *>(scratch + 64), sizeof ign};
  ASSERT_EQ(process_vm_writev(pid, &local, 1, &remote, 1, 0), static_cast<ssize_t>(sizeof ign));
  r = rs->call(SYS_rt_sigaction, {SIGWINCH, scratch + 64, 0, 8});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(*r, 0);
  // a bad sigset size is refused by the kernel, reported as -EINVAL
  r = rs->call(SYS_rt_sigaction, {SIGUSR1, 0, scratch, 4});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, -EINVAL);

  auto bytes = peek(pid, scratch, 64);
  ASSERT_EQ(bytes.size(), 64u);
  KernelSigaction usr1{}, usr2{};
  std::memcpy(&usr1, bytes.data(), 32);
  std::memcpy(&usr2, bytes.data() + 32, 32);
  EXPECT_EQ(usr1.handler, reinterpret_cast<uint64_t>(&testing::on_usr1));
  EXPECT_NE(usr1.flags & 0x04000000u, 0u) << "SA_RESTORER";
  EXPECT_NE(usr1.restorer, 0u);
  EXPECT_EQ(usr1.mask, sig_bit(SIGWINCH));
  EXPECT_EQ(usr2.handler, reinterpret_cast<uint64_t>(SIG_DFL));

  ASSERT_TRUE(rs->call(SYS_munmap, {scratch, 4096}).ok());
  ASSERT_TRUE(rs->finish().ok());
  ASSERT_TRUE(ptrace::detach(pid).ok());
  auto st = read_status(pid);
  ASSERT_TRUE(st.ok());
  EXPECT_NE(st->sig_ign & sig_bit(SIGWINCH), 0u);
  EXPECT_NE(st->sig_cgt & sig_bit(SIGUSR1), 0u);
  expect_pause_child_unharmed(s.child, *orig_mask);
}

TEST(RemoteSyscaller, SpinningChildGetsItsExactRegistersBack) {
  Stopped s = stop(testing::spin_child, -1);
  const pid_t pid = s.child.pid();
  auto orig = ptrace::get_regs(pid);
  ASSERT_TRUE(orig.ok());
  EXPECT_EQ((*orig)[kOrigRax], static_cast<uint64_t>(-1)) << "stopped in user code, not a syscall";
  auto orig_mask = ptrace::get_sigmask(pid);
  ASSERT_TRUE(orig_mask.ok());

  auto rs = RemoteSyscaller::attach(pid, s.insn);
  ASSERT_TRUE(rs.ok()) << err(rs);
  for (int i = 0; i < 20; i++) {
    auto r = rs->call(SYS_getpid);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(*r, pid);
  }
  // `syscall` clobbered rcx and r11 in the child; finish() must undo that
  auto during = ptrace::get_regs(pid);
  ASSERT_TRUE(during.ok());
  EXPECT_EQ((*during)[kRip], s.insn + 2);
  ASSERT_TRUE(rs->finish().ok());
  auto after = ptrace::get_regs(pid);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *orig);
  auto mask = ptrace::get_sigmask(pid);
  ASSERT_TRUE(mask.ok());
  EXPECT_EQ(*mask, *orig_mask);
  ASSERT_TRUE(ptrace::detach(pid).ok());

  // It keeps counting (rcx == r11 all along) past where it was stopped.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(testing::proc_state(pid), 'R');
  ASSERT_EQ(kill(pid, SIGUSR1), 0);
  Report r;
  ASSERT_TRUE(s.child.read_report(r));
  EXPECT_EQ(r.tag, 'S');
  EXPECT_EQ(r.ret, 0) << "rcx and r11 diverged: registers were not restored";
  EXPECT_GT(r.value, (*orig)[kRcx]);
  EXPECT_EQ(r.handler_runs, 1);
  EXPECT_EQ(r.sigmask, *orig_mask);
}

TEST(RemoteSyscaller, InterruptedNanosleepCarriesOn) {
  Stopped s = stop(testing::nanosleep_child, SYS_nanosleep);
  const pid_t pid = s.child.pid();
  auto rs = RemoteSyscaller::attach(pid, s.insn);
  ASSERT_TRUE(rs.ok()) << err(rs);
  ASSERT_EQ(static_cast<int64_t>(rs->original_regs()[kRax]), kErestartRestartblock);
  ASSERT_EQ(rs->original_regs()[kOrigRax], static_cast<uint64_t>(SYS_nanosleep));
  auto r = rs->call(SYS_getpid);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, pid);
  ASSERT_TRUE(rs->finish().ok());
  auto after = ptrace::get_regs(pid);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)[kRax], static_cast<uint64_t>(SYS_restart_syscall));
  EXPECT_EQ((*after)[kRip], rs->original_regs()[kRip] - 2);
  ASSERT_TRUE(ptrace::detach(pid).ok());
  // nanosleep() neither failed with EINTR nor slept for the full second again
  Report rep;
  ASSERT_TRUE(s.child.read_report(rep, 3000));
  EXPECT_EQ(rep.tag, 'N');
  EXPECT_EQ(rep.ret, 0) << "errno " << rep.err;
  EXPECT_GE(rep.value, 1000000000u);
  EXPECT_LT(rep.value, 1900000000u);
}

TEST(RemoteSyscaller, SignalsArrivingMeanwhileWaitForTheDetach) {
  Stopped s = stop(testing::spin_child, -1);
  const pid_t pid = s.child.pid();
  auto rs = RemoteSyscaller::attach(pid, s.insn);
  ASSERT_TRUE(rs.ok()) << err(rs);
  ASSERT_EQ(kill(pid, SIGUSR1), 0); // blocked while we drive the child
  for (int i = 0; i < 5; i++) {
    auto r = rs->call(SYS_getpid);
    ASSERT_TRUE(r.ok()) << err(r);
    EXPECT_EQ(*r, pid);
  }
  EXPECT_FALSE(s.child.report_pending(0));
  ASSERT_TRUE(rs->finish().ok());
  ASSERT_TRUE(ptrace::detach(pid).ok());
  Report r;
  ASSERT_TRUE(s.child.read_report(r)) << "the pending SIGUSR1 was lost";
  EXPECT_EQ(r.tag, 'S');
  EXPECT_EQ(r.ret, 0);
  EXPECT_EQ(r.handler_runs, 1);
}

// KNOWN BUG (disabled until fixed): a handled signal that arrives while the
// child is held is delivered after the detach, but finish() has already
// turned the interrupted pause() into a plain restart (orig_rax = -1), so
// the kernel no longer makes pause() fail with EINTR for it: the handler
// runs and the child goes back to sleep, a lost wakeup. Without lmig in
// between, pause() returns -1/EINTR after the handler.
TEST(RemoteSyscaller, SignalArrivingMeanwhileStillInterruptsPause) {
  Stopped s = stop(testing::pause_child, SYS_pause);
  const pid_t pid = s.child.pid();
  auto rs = RemoteSyscaller::attach(pid, s.insn);
  ASSERT_TRUE(rs.ok()) << err(rs);
  ASSERT_EQ(kill(pid, SIGUSR1), 0);
  ASSERT_TRUE(rs->call(SYS_getpid).ok());
  ASSERT_TRUE(rs->finish().ok());
  ASSERT_TRUE(ptrace::detach(pid).ok());
  Report r;
  if (!s.child.read_report(r, 1000)) {
    // Show what happened: the handler did run, pause() swallowed it.
    ASSERT_EQ(kill(pid, SIGUSR1), 0);
    Report later;
    ASSERT_TRUE(s.child.read_report(later));
    FAIL() << "pause() did not return after the handler ran; after one more SIGUSR1: "
           << later.pause_returns << " return(s) of pause(), " << later.handler_runs
           << " handler run(s)";
  }
  EXPECT_EQ(r.pause_returns, 1);
  EXPECT_EQ(r.handler_runs, 1);
  EXPECT_EQ(r.err, EINTR);
}

// KNOWN BUG (disabled until fixed): SIGSTOP cannot be blocked, so one sent
// while the child is held causes a signal-delivery stop inside call();
// step_to_syscall_stop() resumes with signal 0, which discards it. The
// child should end up stopped after the detach, as it would without lmig.
TEST(RemoteSyscaller, StopSignalArrivingMeanwhileIsKept) {
  Stopped s = stop(testing::pause_child, SYS_pause);
  const pid_t pid = s.child.pid();
  auto rs = RemoteSyscaller::attach(pid, s.insn);
  ASSERT_TRUE(rs.ok()) << err(rs);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  for (int i = 0; i < 3; i++)
    ASSERT_TRUE(rs->call(SYS_getpid).ok());
  ASSERT_TRUE(rs->finish().ok());
  ASSERT_TRUE(ptrace::detach(pid).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (testing::proc_state(pid) != 'T' && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(testing::proc_state(pid), 'T') << "the SIGSTOP was lost";
}

TEST(RemoteSyscaller, DestructorRestoresLikeFinish) {
  Stopped s = stop(testing::pause_child, SYS_pause);
  const pid_t pid = s.child.pid();
  auto orig = ptrace::get_regs(pid);
  auto orig_mask = ptrace::get_sigmask(pid);
  ASSERT_TRUE(orig.ok() && orig_mask.ok());
  {
    auto rs = RemoteSyscaller::attach(pid, s.insn);
    ASSERT_TRUE(rs.ok()) << err(rs);
    RemoteSyscaller moved(std::move(*rs)); // the moved-from one must not restore
    auto r = moved.call(SYS_getpid);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, pid);
  }
  auto after = ptrace::get_regs(pid);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, ptrace::settle_interrupted_syscall(*orig, false));
  auto mask = ptrace::get_sigmask(pid);
  ASSERT_TRUE(mask.ok());
  EXPECT_EQ(*mask, *orig_mask);
  ASSERT_TRUE(ptrace::detach(pid).ok());
  expect_pause_child_unharmed(s.child, *orig_mask);
}

TEST(RemoteSyscaller, FinishWithoutCallsLeavesRegistersAlone) {
  Stopped s = stop(testing::pause_child, SYS_pause);
  const pid_t pid = s.child.pid();
  auto orig = ptrace::get_regs(pid);
  auto orig_mask = ptrace::get_sigmask(pid);
  ASSERT_TRUE(orig.ok() && orig_mask.ok());
  auto rs = RemoteSyscaller::attach(pid, s.insn);
  ASSERT_TRUE(rs.ok());
  ASSERT_TRUE(rs->finish().ok());
  auto after = ptrace::get_regs(pid);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *orig); // untouched: the kernel restarts pause() itself
  auto mask = ptrace::get_sigmask(pid);
  ASSERT_TRUE(mask.ok());
  EXPECT_EQ(*mask, *orig_mask);
  ASSERT_TRUE(ptrace::detach(pid).ok());
  expect_pause_child_unharmed(s.child, *orig_mask);
}

TEST(RemoteSyscaller, CallAfterFinishFailsAndFinishTwiceIsFine) {
  Stopped s = stop(testing::pause_child, SYS_pause);
  auto rs = RemoteSyscaller::attach(s.child.pid(), s.insn);
  ASSERT_TRUE(rs.ok());
  ASSERT_TRUE(rs->call(SYS_getpid).ok());
  ASSERT_TRUE(rs->finish().ok());
  ASSERT_TRUE(rs->finish().ok());
  auto r = rs->call(SYS_getpid);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LMIG_ERR_INTERNAL);
}

TEST(RemoteSyscaller, AttachNeedsAStoppedTracee) {
  Child c = start(testing::pause_child, SYS_pause);
  auto insn = find_syscall_instruction(c.pid()); // works untraced: we are root and its parent
  ASSERT_TRUE(insn.ok()) << err(insn);
  auto rs = RemoteSyscaller::attach(c.pid(), *insn);
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.error().sys_errno, ESRCH);
  ASSERT_TRUE(ptrace::seize(c.pid(), kOptions).ok());
  auto running = RemoteSyscaller::attach(c.pid(), *insn); // traced, but running
  ASSERT_FALSE(running.ok());
  EXPECT_EQ(running.error().sys_errno, ESRCH);
}

TEST(RemoteSyscaller, ChildKilledMeanwhile) {
  Stopped s = stop(testing::pause_child, SYS_pause);
  const pid_t pid = s.child.pid();
  auto rs = RemoteSyscaller::attach(pid, s.insn);
  ASSERT_TRUE(rs.ok());
  ASSERT_TRUE(rs->call(SYS_getpid).ok());
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  auto r = rs->call(SYS_getpid);
  EXPECT_FALSE(r.ok());
  if (!r.ok()) {
    EXPECT_EQ(r.error().code, LMIG_ERR_SYSTEM);
  }
  (void)rs->finish(); // may fail: the task is gone
  // Reap it ourselves unless the syscaller's wait already did.
  int status = 0;
  pid_t w = waitpid(pid, &status, __WALL);
  if (w == pid || (w < 0 && errno == ECHILD))
    s.child.forget();
}

} // namespace
} // namespace lmig
