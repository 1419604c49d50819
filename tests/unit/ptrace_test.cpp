// lmig::ptrace on real children (seize, interrupt, stops, registers, masks,
// XSAVE, rseq, detach), and settle_interrupted_syscall on hand-made and on
// real interrupted system calls.
#include "engine/ptrace/ptrace_ops.hpp"

#include <asm/prctl.h>
#include <cpuid.h>
#include <sys/ptrace.h>
#include <sys/rseq.h>
#include <sys/syscall.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "child_process.hpp"

namespace lmig {
namespace {

using ptrace::StopInfo;
using testing::Child;
using testing::Report;
using testing::sig_bit;

constexpr unsigned long kOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL;
constexpr int64_t kErestartsys = -512, kErestartnointr = -513, kErestartnohand = -514,
                  kErestartRestartblock = -516;

template <typename T> std::string err(const Result<T> &r) {
  return r.ok() ? "" : r.error().message;
}

// Waits (bounded) for the next stop of a traced task.
StopInfo next_stop(pid_t pid, int timeout_ms = 3000) {
  StopInfo s{};
  auto r = ptrace::wait_stop_for(pid, timeout_ms, s);
  EXPECT_TRUE(r.ok()) << err(r);
  EXPECT_TRUE(r.ok() && *r) << "no stop of " << pid << " within " << timeout_ms << " ms";
  if (!r.ok() || !*r) {
    s.kind = StopInfo::exited;
    s.sig = -1;
  }
  return s;
}

// Spawns body, waits for its ready report; for a pausing child also waits
// until it sleeps in pause().
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
  StopInfo s = next_stop(pid);
  ASSERT_EQ(s.kind, StopInfo::event_stop) << ptrace::describe(s);
  ASSERT_EQ(s.event, PTRACE_EVENT_STOP);
  ASSERT_EQ(s.sig, SIGTRAP);
}

// Our own blocked mask: a forked child starts with it.
uint64_t our_sigmask() {
  sigset_t s;
  sigprocmask(SIG_BLOCK, nullptr, &s);
  uint64_t m = 0;
  std::memcpy(&m, &s, sizeof m);
  return m;
}

uint64_t our_fs_base() {
  unsigned long fs = 0;
  syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
  return fs;
}

// --- settle_interrupted_syscall on hand-made registers --------------------------

RegsImage syscall_regs(int64_t rax, uint64_t orig_rax) {
  RegsImage r{};
  for (size_t i = 0; i < r.size(); i++)
    r[i] = 0x1000 + i;
  r[kRax] = static_cast<uint64_t>(rax);
  r[kOrigRax] = orig_rax;
  r[kRip] = 0x7f0000001234;
  return r;
}

TEST(Settle, RestartableCallsReenterTheSyscallInstruction) {
  for (int64_t code : {kErestartsys, kErestartnointr, kErestartnohand}) {
    for (bool migration : {false, true}) {
      SCOPED_TRACE(std::to_string(code) + (migration ? " for migration" : " in place"));
      const RegsImage in = syscall_regs(code, SYS_read);
      RegsImage out = ptrace::settle_interrupted_syscall(in, migration);
      EXPECT_EQ(out[kRax], static_cast<uint64_t>(SYS_read));
      EXPECT_EQ(out[kRip], in[kRip] - 2);
      EXPECT_EQ(out[kOrigRax], static_cast<uint64_t>(-1));
      for (size_t i = 0; i < in.size(); i++) {
        if (i != kRax && i != kRip && i != kOrigRax) {
          EXPECT_EQ(out[i], in[i]) << "register " << i;
        }
      }
      // settling twice changes nothing more
      EXPECT_EQ(ptrace::settle_interrupted_syscall(out, migration), out);
    }
  }
}

TEST(Settle, SyscallNumberZeroIsASyscall) {
  // read(2) is system call 0: orig_rax = 0 must not look like "no syscall".
  RegsImage out = ptrace::settle_interrupted_syscall(syscall_regs(kErestartsys, 0), false);
  EXPECT_EQ(out[kRax], 0u);
  EXPECT_EQ(out[kRip], 0x7f0000001234u - 2);
  EXPECT_EQ(out[kOrigRax], static_cast<uint64_t>(-1));
}

TEST(Settle, RestartBlockInPlaceBecomesRestartSyscall) {
  const RegsImage in = syscall_regs(kErestartRestartblock, SYS_nanosleep);
  RegsImage out = ptrace::settle_interrupted_syscall(in, false);
  EXPECT_EQ(out[kRax], static_cast<uint64_t>(SYS_restart_syscall));
  EXPECT_EQ(out[kRax], 219u);
  EXPECT_EQ(out[kRip], in[kRip] - 2);
  EXPECT_EQ(out[kOrigRax], static_cast<uint64_t>(-1));
  for (size_t i = 0; i < in.size(); i++) {
    if (i != kRax && i != kRip && i != kOrigRax) {
      EXPECT_EQ(out[i], in[i]) << "register " << i;
    }
  }
}

TEST(Settle, RestartBlockForMigrationReturnsEintr) {
  const RegsImage in = syscall_regs(kErestartRestartblock, SYS_clock_nanosleep);
  RegsImage out = ptrace::settle_interrupted_syscall(in, true);
  EXPECT_EQ(static_cast<int64_t>(out[kRax]), -EINTR);
  EXPECT_EQ(out[kRip], in[kRip]); // returns to the instruction after `syscall`
  EXPECT_EQ(out[kOrigRax], static_cast<uint64_t>(-1));
  for (size_t i = 0; i < in.size(); i++) {
    if (i != kRax && i != kOrigRax) {
      EXPECT_EQ(out[i], in[i]) << "register " << i;
    }
  }
}

TEST(Settle, PollAndFutexWaitsAreEnteredAgainForMigration) {
  for (uint64_t nr : {uint64_t{SYS_poll}, uint64_t{SYS_futex}}) {
    const RegsImage in = syscall_regs(kErestartRestartblock, nr);
    RegsImage out = ptrace::settle_interrupted_syscall(in, true);
    EXPECT_EQ(out[kRax], nr);
    EXPECT_EQ(out[kRip], in[kRip] - 2);
    EXPECT_EQ(out[kOrigRax], static_cast<uint64_t>(-1));
    for (size_t i = 0; i < in.size(); i++) {
      if (i != kRax && i != kRip && i != kOrigRax) {
        EXPECT_EQ(out[i], in[i]) << "register " << i << ": the call's own arguments";
      }
    }
  }
}

TEST(Settle, AFreezesEintrIsUndoneOnlyWithNoSignalToDeliver) {
  for (uint64_t nr : {uint64_t{SYS_epoll_wait}, uint64_t{SYS_epoll_pwait},
                      uint64_t{SYS_rt_sigtimedwait}, uint64_t{SYS_semtimedop},
                      uint64_t{SYS_io_getevents}}) {
    const RegsImage in = syscall_regs(-EINTR, nr);
    RegsImage out = ptrace::undo_freeze_eintr(in, false);
    EXPECT_EQ(out[kRax], nr);
    EXPECT_EQ(out[kRip], in[kRip] - 2);
    EXPECT_EQ(out[kOrigRax], static_cast<uint64_t>(-1));
    // a signal waits to be delivered: its EINTR is real
    EXPECT_EQ(ptrace::undo_freeze_eintr(in, true), in);
  }
  // read's EINTR is its own business (the freeze makes it restart, not fail)
  EXPECT_EQ(ptrace::undo_freeze_eintr(syscall_regs(-EINTR, SYS_read), false),
            syscall_regs(-EINTR, SYS_read));
  // not in a system call, or another result
  EXPECT_EQ(ptrace::undo_freeze_eintr(syscall_regs(-EINTR, static_cast<uint64_t>(-1)), false),
            syscall_regs(-EINTR, static_cast<uint64_t>(-1)));
  EXPECT_EQ(ptrace::undo_freeze_eintr(syscall_regs(1, SYS_epoll_wait), false),
            syscall_regs(1, SYS_epoll_wait));
}

TEST(Settle, NonSyscallStopIsUntouched) {
  for (int64_t code : {kErestartsys, kErestartnointr, kErestartnohand, kErestartRestartblock,
                       int64_t{0}, int64_t{42}}) {
    for (bool migration : {false, true}) {
      const RegsImage in = syscall_regs(code, static_cast<uint64_t>(-1));
      EXPECT_EQ(ptrace::settle_interrupted_syscall(in, migration), in) << code;
    }
  }
  // Any negative orig_rax means "not in a system call".
  const RegsImage in = syscall_regs(kErestartsys, static_cast<uint64_t>(-2));
  EXPECT_EQ(ptrace::settle_interrupted_syscall(in, false), in);
}

TEST(Settle, OtherReturnValuesAreUntouched) {
  for (int64_t rax : {int64_t{0}, int64_t{1}, int64_t{-EINTR}, int64_t{-EAGAIN}, int64_t{-511},
                      int64_t{-515}, int64_t{-517}, int64_t{-ENOSYS}, int64_t{0x7f0000000000}}) {
    for (bool migration : {false, true}) {
      const RegsImage in = syscall_regs(rax, SYS_read);
      EXPECT_EQ(ptrace::settle_interrupted_syscall(in, migration), in) << rax;
    }
  }
}

// --- live children -----------------------------------------------------------------

TEST(Ptrace, SeizeInterruptStopAndDetach) {
  Child c = start(testing::pause_child, SYS_pause);
  seize_and_interrupt(c.pid());
  EXPECT_EQ(testing::proc_state(c.pid()), 't');

  auto regs = ptrace::get_regs(c.pid());
  ASSERT_TRUE(regs.ok()) << err(regs);
  // Stopped on the way out of pause(), which the kernel will restart.
  EXPECT_EQ((*regs)[kOrigRax], static_cast<uint64_t>(SYS_pause));
  EXPECT_EQ(static_cast<int64_t>((*regs)[kRax]), kErestartnohand);
  EXPECT_EQ((*regs)[kCs], 0x33u);
  EXPECT_EQ((*regs)[kSs], 0x2bu);
  EXPECT_EQ((*regs)[kFsBase], our_fs_base()); // a forked child keeps our TLS address
  EXPECT_EQ((*regs)[kRcx], (*regs)[kRip]);     // `syscall` saved rip in rcx
  EXPECT_EQ((*regs)[kR11] & ~0x10000ull, (*regs)[kEflags] & ~0x10000ull); // and rflags in r11

  ASSERT_TRUE(ptrace::detach(c.pid()).ok());
  // pause() was restarted: the child sleeps in it again and reported nothing.
  EXPECT_TRUE(testing::wait_blocked_in(c.pid(), SYS_pause));
  EXPECT_FALSE(c.report_pending(50));
  ASSERT_EQ(kill(c.pid(), SIGUSR1), 0);
  Report r;
  ASSERT_TRUE(c.read_report(r));
  EXPECT_EQ(r.tag, 'P');
  EXPECT_EQ(r.pause_returns, 1);
  EXPECT_EQ(r.handler_runs, 1);
  EXPECT_EQ(r.ret, -1);
  EXPECT_EQ(r.err, EINTR);
}

TEST(Ptrace, GetSetRegsRoundTrip) {
  Child c = start(testing::pause_child, SYS_pause);
  seize_and_interrupt(c.pid());
  auto regs = ptrace::get_regs(c.pid());
  ASSERT_TRUE(regs.ok()) << err(regs);
  ASSERT_TRUE(ptrace::set_regs(c.pid(), *regs).ok());
  auto again = ptrace::get_regs(c.pid());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *regs);

  RegsImage marked = *regs;
  marked[kR12] = 0x1234567890abcdefull;
  marked[kR15] = 0xfedcba0987654321ull;
  ASSERT_TRUE(ptrace::set_regs(c.pid(), marked).ok());
  again = ptrace::get_regs(c.pid());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, marked);

  ASSERT_TRUE(ptrace::set_regs(c.pid(), *regs).ok());
  ASSERT_TRUE(ptrace::detach(c.pid()).ok());
  EXPECT_TRUE(testing::wait_blocked_in(c.pid(), SYS_pause));
  ASSERT_EQ(kill(c.pid(), SIGUSR1), 0);
  Report r;
  ASSERT_TRUE(c.read_report(r));
  EXPECT_EQ(r.pause_returns, 1);
  EXPECT_EQ(r.handler_runs, 1);
}

TEST(Ptrace, SetRegsRejectsNonCanonicalFsBase) {
  Child c = start(testing::pause_child, SYS_pause);
  seize_and_interrupt(c.pid());
  auto regs = ptrace::get_regs(c.pid());
  ASSERT_TRUE(regs.ok());
  RegsImage bad = *regs;
  bad[kFsBase] = 0xffff800000000000ull; // kernel address
  auto st = ptrace::set_regs(c.pid(), bad);
  EXPECT_FALSE(st.ok());
  if (!st.ok()) {
    EXPECT_NE(st.error().message.find("SETREGSET NT_PRSTATUS"), std::string::npos);
  }
}

TEST(Ptrace, SigmaskGetAndSet) {
  Child c = start(testing::pause_child, SYS_pause);
  seize_and_interrupt(c.pid());
  auto mask = ptrace::get_sigmask(c.pid());
  ASSERT_TRUE(mask.ok()) << err(mask);
  EXPECT_EQ(*mask, our_sigmask() | sig_bit(SIGUSR2)); // what the child blocked, nothing else

  ASSERT_TRUE(ptrace::set_sigmask(c.pid(), ~0ull).ok());
  auto all = ptrace::get_sigmask(c.pid());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, ~0ull & ~sig_bit(SIGKILL) & ~sig_bit(SIGSTOP)); // never blockable

  const uint64_t wanted = *mask | sig_bit(SIGWINCH) | sig_bit(SIGRTMIN + 1);
  ASSERT_TRUE(ptrace::set_sigmask(c.pid(), wanted).ok());
  auto now = ptrace::get_sigmask(c.pid());
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(*now, wanted);

  // The child sees the mask we set once it runs again.
  ASSERT_TRUE(ptrace::detach(c.pid()).ok());
  EXPECT_TRUE(testing::wait_blocked_in(c.pid(), SYS_pause));
  ASSERT_EQ(kill(c.pid(), SIGUSR1), 0);
  Report r;
  ASSERT_TRUE(c.read_report(r));
  EXPECT_EQ(r.sigmask, wanted);
}

uint64_t xgetbv0() {
  uint32_t lo = 0, hi = 0;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

TEST(Ptrace, Xstate) {
  Child c = start(testing::pause_child, SYS_pause);
  seize_and_interrupt(c.pid());
  auto x = ptrace::get_xstate(c.pid());
  ASSERT_TRUE(x.ok()) << err(x);
  ASSERT_GE(x->size(), 576u);
  ASSERT_LE(x->size(), 16384u);
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  ASSERT_TRUE(__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx));
  EXPECT_EQ(x->size(), ebx) << "the XSAVE size of the enabled features";

  // The kernel puts the XCR0 it uses in bytes 464..471 of the software
  // reserved area (USER_XSTATE_XCR0_WORD 0).
  uint64_t xcr0 = 0;
  std::memcpy(&xcr0, x->data() + 464, 8);
  EXPECT_EQ(xcr0, xgetbv0());
  uint64_t xstate_bv = 0;
  std::memcpy(&xstate_bv, x->data() + 512, 8);
  EXPECT_EQ(xstate_bv & ~xcr0, 0u);

  ASSERT_TRUE(ptrace::set_xstate(c.pid(), *x).ok());
  auto again = ptrace::get_xstate(c.pid());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *x);

  // xmm15 (legacy area offset 160 + 15 * 16) takes a value and gives it back.
  std::vector<uint8_t> changed = *x;
  for (int i = 0; i < 16; i++)
    changed[400 + static_cast<size_t>(i)] = static_cast<uint8_t>(0xa0 + i);
  uint64_t bv = xstate_bv | 2; // SSE state present
  std::memcpy(changed.data() + 512, &bv, 8);
  ASSERT_TRUE(ptrace::set_xstate(c.pid(), changed).ok());
  again = ptrace::get_xstate(c.pid());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(std::memcmp(again->data() + 400, changed.data() + 400, 16), 0);
  ASSERT_TRUE(ptrace::set_xstate(c.pid(), *x).ok());
}

TEST(Ptrace, Rseq) {
  Child c = start(testing::pause_child, SYS_pause);
  seize_and_interrupt(c.pid());
  auto rs = ptrace::get_rseq(c.pid());
  ASSERT_TRUE(rs.ok()) << err(rs);
  if (__rseq_size == 0) {
    EXPECT_EQ(rs->addr, 0u); // glibc did not register rseq (tunable)
    return;
  }
  auto regs = ptrace::get_regs(c.pid());
  ASSERT_TRUE(regs.ok());
  EXPECT_EQ(rs->addr, (*regs)[kFsBase] + static_cast<uint64_t>(__rseq_offset));
  EXPECT_GE(rs->len, __rseq_size);
  EXPECT_EQ(rs->sig, static_cast<uint32_t>(RSEQ_SIG));
}

TEST(Ptrace, SignalStopInjectAndSuppress) {
  Child c = start(testing::pause_child, SYS_pause);
  ASSERT_TRUE(ptrace::seize(c.pid(), kOptions).ok());
  ASSERT_EQ(kill(c.pid(), SIGUSR1), 0);
  StopInfo s = next_stop(c.pid());
  EXPECT_EQ(s.kind, StopInfo::signal_stop);
  EXPECT_EQ(s.sig, SIGUSR1);
  EXPECT_STREQ(ptrace::describe(s), "signal stop");
  // deliver it
  ASSERT_TRUE(ptrace::cont(c.pid(), SIGUSR1).ok());
  Report r;
  ASSERT_TRUE(c.read_report(r));
  EXPECT_EQ(r.pause_returns, 1);
  EXPECT_EQ(r.handler_runs, 1);

  // suppress the next one: the handler does not run, pause() goes on
  EXPECT_TRUE(testing::wait_blocked_in(c.pid(), SYS_pause));
  ASSERT_EQ(kill(c.pid(), SIGUSR1), 0);
  s = next_stop(c.pid());
  EXPECT_EQ(s.kind, StopInfo::signal_stop);
  EXPECT_EQ(s.sig, SIGUSR1);
  ASSERT_TRUE(ptrace::cont(c.pid(), 0).ok());
  EXPECT_TRUE(testing::wait_blocked_in(c.pid(), SYS_pause));
  EXPECT_FALSE(c.report_pending(100));
}

TEST(Ptrace, DetachWithSignalFromSignalStop) {
  Child c = start(testing::pause_child, SYS_pause);
  ASSERT_TRUE(ptrace::seize(c.pid(), kOptions).ok());
  ASSERT_EQ(kill(c.pid(), SIGUSR1), 0);
  StopInfo s = next_stop(c.pid());
  ASSERT_EQ(s.kind, StopInfo::signal_stop);
  ASSERT_TRUE(ptrace::detach(c.pid(), SIGUSR1).ok());
  Report r;
  ASSERT_TRUE(c.read_report(r));
  EXPECT_EQ(r.tag, 'P');
  EXPECT_EQ(r.handler_runs, 1);
  EXPECT_EQ(r.err, EINTR);
}

TEST(Ptrace, DetachWithSignalFromSyscallStop) {
  Child c = start(testing::getppid_child);
  seize_and_interrupt(c.pid());
  ASSERT_TRUE(ptrace::syscall_step(c.pid()).ok());
  StopInfo s = next_stop(c.pid());
  ASSERT_EQ(s.kind, StopInfo::syscall_stop);
  ASSERT_TRUE(ptrace::detach(c.pid(), SIGTERM).ok());
  auto w = ptrace::wait_stop(c.pid()); // no longer traced, but still our child
  ASSERT_TRUE(w.ok()) << err(w);
  c.forget();
  EXPECT_EQ(w->kind, StopInfo::killed);
  EXPECT_EQ(w->sig, SIGTERM);
}

// Kernel semantics the engine must live with: a signal passed to
// PTRACE_DETACH from a PTRACE_INTERRUPT stop (an event stop) is dropped.
TEST(Ptrace, DetachWithSignalFromInterruptStopDropsIt) {
  Child c = start(testing::pause_child, SYS_pause);
  seize_and_interrupt(c.pid());
  ASSERT_TRUE(ptrace::detach(c.pid(), SIGUSR1).ok());
  EXPECT_TRUE(testing::wait_blocked_in(c.pid(), SYS_pause));
  EXPECT_FALSE(c.report_pending(100));
}

TEST(Ptrace, SyscallStops) {
  Child c = start(testing::getppid_child);
  seize_and_interrupt(c.pid());
  // entry
  ASSERT_TRUE(ptrace::syscall_step(c.pid()).ok());
  StopInfo s = next_stop(c.pid());
  ASSERT_EQ(s.kind, StopInfo::syscall_stop) << ptrace::describe(s);
  EXPECT_EQ(s.sig, SIGTRAP | 0x80);
  EXPECT_STREQ(ptrace::describe(s), "syscall stop");
  auto regs = ptrace::get_regs(c.pid());
  ASSERT_TRUE(regs.ok());
  EXPECT_EQ((*regs)[kOrigRax], static_cast<uint64_t>(SYS_getppid));
  EXPECT_EQ(static_cast<int64_t>((*regs)[kRax]), -ENOSYS);
  // exit
  ASSERT_TRUE(ptrace::syscall_step(c.pid()).ok());
  s = next_stop(c.pid());
  ASSERT_EQ(s.kind, StopInfo::syscall_stop) << ptrace::describe(s);
  regs = ptrace::get_regs(c.pid());
  ASSERT_TRUE(regs.ok());
  EXPECT_EQ((*regs)[kOrigRax], static_cast<uint64_t>(SYS_getppid));
  EXPECT_EQ((*regs)[kRax], static_cast<uint64_t>(getpid()));
  // and it runs on when continued
  ASSERT_TRUE(ptrace::cont(c.pid()).ok());
  StopInfo none{};
  auto r = ptrace::wait_stop_for(c.pid(), 50, none);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST(Ptrace, GroupStop) {
  Child c = start(testing::pause_child, SYS_pause);
  ASSERT_TRUE(ptrace::seize(c.pid(), kOptions).ok());
  ASSERT_EQ(kill(c.pid(), SIGSTOP), 0);
  StopInfo s = next_stop(c.pid());
  ASSERT_EQ(s.kind, StopInfo::signal_stop);
  EXPECT_EQ(s.sig, SIGSTOP);
  ASSERT_TRUE(ptrace::cont(c.pid(), SIGSTOP).ok());
  s = next_stop(c.pid());
  EXPECT_EQ(s.kind, StopInfo::group_stop) << ptrace::describe(s);
  EXPECT_EQ(s.sig, SIGSTOP);
  EXPECT_EQ(s.event, PTRACE_EVENT_STOP);
  EXPECT_STREQ(ptrace::describe(s), "group stop");
}

TEST(Ptrace, WaitStopReportsExit) {
  Child c = start(testing::exit_child);
  ASSERT_TRUE(ptrace::seize(c.pid(), kOptions).ok());
  ASSERT_TRUE(c.command(7));
  auto s = ptrace::wait_stop(c.pid());
  ASSERT_TRUE(s.ok()) << err(s);
  c.forget(); // reaped by wait_stop
  EXPECT_EQ(s->kind, StopInfo::exited);
  EXPECT_EQ(s->sig, 7);
  EXPECT_STREQ(ptrace::describe(*s), "exited");
}

TEST(Ptrace, WaitStopReportsKill) {
  Child c = start(testing::pause_child, SYS_pause);
  seize_and_interrupt(c.pid());
  ASSERT_EQ(kill(c.pid(), SIGKILL), 0);
  auto s = ptrace::wait_stop(c.pid());
  ASSERT_TRUE(s.ok()) << err(s);
  c.forget();
  EXPECT_EQ(s->kind, StopInfo::killed);
  EXPECT_EQ(s->sig, SIGKILL);
  EXPECT_STREQ(ptrace::describe(*s), "killed by a signal");
}

TEST(Ptrace, WaitStopForTimesOut) {
  Child c = start(testing::pause_child, SYS_pause);
  ASSERT_TRUE(ptrace::seize(c.pid(), kOptions).ok());
  StopInfo s{};
  const auto t0 = std::chrono::steady_clock::now();
  auto r = ptrace::wait_stop_for(c.pid(), 80, s);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r.ok()) << err(r);
  EXPECT_FALSE(*r);
  EXPECT_GE(took, std::chrono::milliseconds(80));
  EXPECT_LT(took, std::chrono::seconds(2));
  ASSERT_TRUE(ptrace::interrupt(c.pid()).ok());
  r = ptrace::wait_stop_for(c.pid(), 3000, s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_EQ(s.kind, StopInfo::event_stop);
}

TEST(Ptrace, ErrorsNameTheTask) {
  Child c = start(testing::pause_child, SYS_pause);
  // not traced (yet): requests other than SEIZE fail with ESRCH
  auto regs = ptrace::get_regs(c.pid());
  ASSERT_FALSE(regs.ok());
  EXPECT_EQ(regs.error().code, LMIG_ERR_SYSTEM);
  EXPECT_EQ(regs.error().sys_errno, ESRCH);
  EXPECT_NE(regs.error().message.find("task " + std::to_string(c.pid())), std::string::npos)
      << regs.error().message;
  EXPECT_EQ(ptrace::interrupt(c.pid()).error().sys_errno, ESRCH);
  EXPECT_EQ(ptrace::get_sigmask(c.pid()).error().sys_errno, ESRCH);
  EXPECT_EQ(ptrace::detach(c.pid()).error().sys_errno, ESRCH);

  // traced but running: still ESRCH
  ASSERT_TRUE(ptrace::seize(c.pid(), kOptions).ok());
  EXPECT_EQ(ptrace::get_regs(c.pid()).error().sys_errno, ESRCH);
  // seizing twice
  auto again = ptrace::seize(c.pid(), kOptions);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().sys_errno, EPERM);

  // no such task
  auto none = ptrace::seize(0x3fffffff, kOptions);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().sys_errno, ESRCH);
  EXPECT_NE(none.error().message.find("ptrace(SEIZE) task 1073741823"), std::string::npos)
      << none.error().message;
  auto w = ptrace::wait_stop(0x3fffffff);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().sys_errno, ECHILD);
}

// --- settle_interrupted_syscall on real interrupted calls -----------------------

TEST(Ptrace, SettledPauseRestarts) {
  for (bool migration : {false, true}) {
    SCOPED_TRACE(migration ? "for migration" : "in place");
    Child c = start(testing::pause_child, SYS_pause);
    seize_and_interrupt(c.pid());
    auto regs = ptrace::get_regs(c.pid());
    ASSERT_TRUE(regs.ok());
    ASSERT_EQ(static_cast<int64_t>((*regs)[kRax]), kErestartnohand);
    RegsImage settled = ptrace::settle_interrupted_syscall(*regs, migration);
    EXPECT_EQ(settled[kRax], static_cast<uint64_t>(SYS_pause));
    ASSERT_TRUE(ptrace::set_regs(c.pid(), settled).ok());
    ASSERT_TRUE(ptrace::detach(c.pid()).ok());
    EXPECT_TRUE(testing::wait_blocked_in(c.pid(), SYS_pause));
    EXPECT_FALSE(c.report_pending(50)) << "pause() returned to the program";
    ASSERT_EQ(kill(c.pid(), SIGUSR1), 0);
    Report r;
    ASSERT_TRUE(c.read_report(r));
    EXPECT_EQ(r.pause_returns, 1);
    EXPECT_EQ(r.handler_runs, 1);
    EXPECT_EQ(r.err, EINTR);
  }
}

TEST(Ptrace, SettledNanosleepRestartsInPlace) {
  Child c = start(testing::nanosleep_child, SYS_nanosleep);
  seize_and_interrupt(c.pid());
  auto regs = ptrace::get_regs(c.pid());
  ASSERT_TRUE(regs.ok());
  EXPECT_EQ((*regs)[kOrigRax], static_cast<uint64_t>(SYS_nanosleep));
  ASSERT_EQ(static_cast<int64_t>((*regs)[kRax]), kErestartRestartblock);
  ASSERT_TRUE(ptrace::set_regs(c.pid(), ptrace::settle_interrupted_syscall(*regs, false)).ok());
  ASSERT_TRUE(ptrace::detach(c.pid()).ok());
  // restart_syscall resumes the sleep towards its original deadline
  EXPECT_TRUE(testing::wait_blocked_in(c.pid(), SYS_restart_syscall, 500) ||
              testing::blocked_syscall(c.pid()) == SYS_nanosleep);
  Report r;
  ASSERT_TRUE(c.read_report(r, 3000));
  EXPECT_EQ(r.tag, 'N');
  EXPECT_EQ(r.ret, 0);
  EXPECT_GE(r.value, 1000000000u);
  EXPECT_LT(r.value, 2500000000u);
}

TEST(Ptrace, SettledNanosleepForMigrationReturnsEintr) {
  Child c = start(testing::nanosleep_child, SYS_nanosleep);
  seize_and_interrupt(c.pid());
  auto regs = ptrace::get_regs(c.pid());
  ASSERT_TRUE(regs.ok());
  ASSERT_EQ(static_cast<int64_t>((*regs)[kRax]), kErestartRestartblock);
  ASSERT_TRUE(ptrace::set_regs(c.pid(), ptrace::settle_interrupted_syscall(*regs, true)).ok());
  ASSERT_TRUE(ptrace::detach(c.pid()).ok());
  Report r;
  ASSERT_TRUE(c.read_report(r, 3000));
  EXPECT_EQ(r.tag, 'N');
  EXPECT_EQ(r.ret, -1);
  EXPECT_EQ(r.err, EINTR);
  EXPECT_LT(r.value, 1000000000u);
  EXPECT_EQ(r.handler_runs, 0);
}

} // namespace
} // namespace lmig
