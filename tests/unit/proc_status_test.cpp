// parse_status / parse_stat / parse_fdinfo on crafted text, and the read_*
// helpers on the live test process.
#include "engine/capture/proc_status.hpp"
#include "engine/capture/terminals.hpp"

#include <sys/sysmacros.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/capture/proc_maps.hpp"

namespace lmig {
namespace {

constexpr const char *kStatus = "Name:\tmy worker\n"
                                "Umask:\t0027\n"
                                "State:\tS (sleeping)\n"
                                "Tgid:\t4242\n"
                                "Ngid:\t0\n"
                                "Pid:\t4243\n"
                                "PPid:\t4100\n"
                                "TracerPid:\t0\n"
                                "Uid:\t1000\t1001\t1002\t1003\n"
                                "Gid:\t100\t101\t102\t103\n"
                                "FDSize:\t64\n"
                                "Groups:\t4 24 27 100 1000 \n"
                                "NStgid:\t4242\t17\n"
                                "NSpid:\t4243\t18\n"
                                "NSpgid:\t4100\t1\n"
                                "NSsid:\t4100\t1\n"
                                "Kthread:\t0\n"
                                "VmPeak:\t    3060 kB\n"
                                "VmSize:\t    3060 kB\n"
                                "Threads:\t3\n"
                                "SigQ:\t0/96364\n"
                                "SigPnd:\t0000000000000000\n"
                                "ShdPnd:\t0000000000000000\n"
                                "SigBlk:\t0000000000000800\n"
                                "SigIgn:\t0000000000001000\n"
                                "SigCgt:\tfffffffe80014a02\n"
                                "CapInh:\t0000000000000000\n"
                                "Seccomp:\t0\n"
                                "Cpus_allowed_list:\t0-1\n"
                                "voluntary_ctxt_switches:\t12\n";

TEST(ParseStatus, RealLookingStatus) {
  auto r = parse_status(kStatus);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto &s = *r;
  EXPECT_EQ(s.name, "my worker");
  EXPECT_EQ(s.state, 'S');
  EXPECT_EQ(s.umask, 027u);
  EXPECT_EQ(s.tgid, 4242);
  EXPECT_EQ(s.pid, 4243);
  EXPECT_EQ(s.ppid, 4100);
  EXPECT_EQ(s.tracer_pid, 0);
  EXPECT_EQ(s.uid, (std::array<uint32_t, 4>{1000, 1001, 1002, 1003}));
  EXPECT_EQ(s.gid, (std::array<uint32_t, 4>{100, 101, 102, 103}));
  EXPECT_EQ(s.groups, (std::vector<uint32_t>{4, 24, 27, 100, 1000}));
  EXPECT_EQ(s.nspid, (std::vector<pid_t>{4243, 18}));
  EXPECT_EQ(s.threads, 3);
  EXPECT_EQ(s.sig_blk, 0x800u); // SIGUSR2
  EXPECT_EQ(s.sig_blk, 1u << (SIGUSR2 - 1));
  EXPECT_EQ(s.sig_ign, 0x1000u);
  EXPECT_EQ(s.sig_cgt, 0xfffffffe80014a02ull);
  EXPECT_FALSE(s.kthread);
}

TEST(ParseStatus, KernelThread) {
  auto r = parse_status("Name:\tkworker/0:1-events\n"
                        "Umask:\t0000\n"
                        "State:\tI (idle)\n"
                        "Tgid:\t12\n"
                        "Pid:\t12\n"
                        "PPid:\t2\n"
                        "Uid:\t0\t0\t0\t0\n"
                        "Gid:\t0\t0\t0\t0\n"
                        "Groups:\t \n"
                        "NSpid:\t12\n"
                        "Kthread:\t1\n"
                        "Threads:\t1\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->kthread);
  EXPECT_EQ(r->name, "kworker/0:1-events"); // colon inside the value
  EXPECT_EQ(r->state, 'I');
  EXPECT_TRUE(r->groups.empty());
  EXPECT_EQ(r->nspid, (std::vector<pid_t>{12}));
  EXPECT_EQ(r->umask, 0u);
}

TEST(ParseStatus, OlderKernelWithoutKthreadOrUmask) {
  auto r = parse_status("Name:\tx\nState:\tR (running)\nPid:\t7\nPPid:\t1\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->kthread);
  EXPECT_EQ(r->pid, 7);
  EXPECT_TRUE(r->nspid.empty());
}

TEST(ParseStatus, LastLineWithoutNewline) {
  auto r = parse_status("Pid:\t9\nThreads:\t2");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->threads, 2);
}

void expect_malformed_status(const std::string &line, const std::string &key) {
  auto r = parse_status("Name:\tx\nPid:\t5\n" + line + "\n");
  ASSERT_FALSE(r.ok()) << "accepted: " << line;
  EXPECT_EQ(r.error().code, LMIG_ERR_SYSTEM);
  EXPECT_NE(r.error().message.find("malformed field " + key), std::string::npos)
      << r.error().message;
}

TEST(ParseStatus, MalformedFields) {
  expect_malformed_status("Uid:\t1000\t1000\t1000", "Uid");
  expect_malformed_status("Uid:\t1000\t1000\t1000\t1000\t1000", "Uid");
  expect_malformed_status("Gid:\tabc", "Gid");
  expect_malformed_status("Umask:\t0099", "Umask"); // octal
  expect_malformed_status("Umask:\t", "Umask");
  expect_malformed_status("SigBlk:\t00000000000zz000", "SigBlk");
  expect_malformed_status("SigCgt:\t1ffffffffffffffff", "SigCgt"); // 65 bits
  expect_malformed_status("Threads:\tmany", "Threads");
  expect_malformed_status("Threads:\t-", "Threads");
  expect_malformed_status("Tgid:\t", "Tgid");
  expect_malformed_status("PPid:\t1x", "PPid");
  expect_malformed_status("TracerPid:\t99999999999", "TracerPid"); // overflows pid_t
  expect_malformed_status("State:\t", "State");
  expect_malformed_status("Kthread:\tyes", "Kthread");
}

TEST(ParseStatus, MalformedPid) {
  auto r = parse_status("Name:\tx\nPid:\tseven\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("malformed field Pid"), std::string::npos);
}

TEST(ParseStatus, CapabilitiesAndSeccomp) {
  auto r = parse_status("Pid:\t7\n"
                        "CapInh:\t0000000000000401\n"
                        "CapPrm:\t000001fffeffffff\n"
                        "CapEff:\t000001fffefdffff\n"
                        "CapBnd:\t000001fffebfffff\n"
                        "CapAmb:\t0000000000000400\n"
                        "NoNewPrivs:\t1\n"
                        "Seccomp:\t2\n"
                        "Seccomp_filters:\t3\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->cap_inh, 0x401u);
  EXPECT_EQ(r->cap_prm, 0x1fffeffffffull);
  EXPECT_EQ(r->cap_eff, 0x1fffefdffffull);
  EXPECT_EQ(r->cap_bnd, 0x1fffebfffffull);
  EXPECT_EQ(r->cap_amb, 0x400u);
  EXPECT_TRUE(r->no_new_privs);
  EXPECT_EQ(r->seccomp, 2u);
  auto d = parse_status(kStatus); // fields absent: nothing held, nothing set
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->cap_prm, 0u);
  EXPECT_FALSE(d->no_new_privs);
  EXPECT_EQ(d->seccomp, 0u);
  for (const char *bad : {"Pid:\t7\nCapEff:\tzz\n", "Pid:\t7\nNoNewPrivs:\t\n",
                          "Pid:\t7\nSeccomp:\t-\n"}) {
    auto b = parse_status(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.error().message.find("malformed field"), std::string::npos) << b.error().message;
  }
}

TEST(ParseStatus, MissingPid) {
  auto r = parse_status("Name:\tx\nTgid:\t5\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no Pid field"), std::string::npos) << r.error().message;
  r = parse_status("");
  ASSERT_FALSE(r.ok());
}

// /proc/PID/stat with 52 fields. comm is given without parentheses.
std::string stat_line(const std::string &comm, const std::string &pid = "4242") {
  return pid + " (" + comm + ") S 4100 4242 4100 34816 4242 4194560 150 0 0 0 1 2 0 0 20 0 1 0 "
               "244134 3133440 374 18446744073709551615 94294377119744 94294377139625 "
               "140726862300832 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94294377155632 94294377157248 "
               "94294969602048 140726862301832 140726862301852 140726862301852 140726862303211 0\n";
}

TEST(ParseStat, RealLookingStat) {
  auto r = parse_stat(stat_line("cat"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto &s = *r;
  EXPECT_EQ(s.pid, 4242);
  EXPECT_EQ(s.comm, "cat");
  EXPECT_EQ(s.state, 'S');
  EXPECT_EQ(s.flags, 4194560u);
  EXPECT_EQ(s.start_code, 94294377119744u);
  EXPECT_EQ(s.end_code, 94294377139625u);
  EXPECT_EQ(s.start_stack, 140726862300832u);
  EXPECT_EQ(s.start_data, 94294377155632u);
  EXPECT_EQ(s.end_data, 94294377157248u);
  EXPECT_EQ(s.start_brk, 94294969602048u);
  EXPECT_EQ(s.arg_start, 140726862301832u);
  EXPECT_EQ(s.arg_end, 140726862301852u);
  EXPECT_EQ(s.env_start, 140726862301852u);
  EXPECT_EQ(s.env_end, 140726862303211u);
  EXPECT_EQ(s.flags & kPfKthread, 0u);
  EXPECT_EQ(s.pgrp, 4242);
  EXPECT_EQ(s.session, 4100);
}

TEST(ParseStat, CommWithSpacesAndParentheses) {
  for (const std::string comm : {"(a) b (c)", "a) S 1 2 3 (", ")", "(", "", "x y", "))((",
                                 "1 (2) 3"}) {
    auto r = parse_stat(stat_line(comm));
    ASSERT_TRUE(r.ok()) << "comm '" << comm << "': " << r.error().message;
    EXPECT_EQ(r->comm, comm);
    EXPECT_EQ(r->pid, 4242);
    EXPECT_EQ(r->state, 'S');
    EXPECT_EQ(r->start_code, 94294377119744u);
    EXPECT_EQ(r->env_end, 140726862303211u);
  }
}

TEST(ParseStat, KernelThreadFlag) {
  std::string line = stat_line("kthreadd", "2");
  line.replace(line.find("4194560"), 7, std::to_string(kPfKthread | 0x40));
  auto r = parse_stat(line);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->flags & kPfKthread, 0u);
}

TEST(ParseStat, FieldFiftyTwoIsOptional) {
  const std::string good = stat_line("cat");
  auto r = parse_stat(good.substr(0, good.rfind(' ')));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->env_end, 140726862303211u);
}

TEST(ParseStat, WithoutTrailingNewline) {
  std::string line = stat_line("x");
  line.pop_back();
  EXPECT_TRUE(parse_stat(line).ok());
}

TEST(ParseStat, Malformed) {
  const std::string good = stat_line("cat");
  struct Case {
    std::string text;
    const char *needle;
  } cases[] = {
      {"", "no (comm)"},
      {"4242 cat S 1 2 3", "no (comm)"},
      {"4242 (cat S 1 2 3", "no (comm)"},
      {"4242 )cat( S 1 2 3", "no (comm)"},
      {"abc (cat) S" + good.substr(good.find(") S") + 3), "malformed field pid"},
      {"(cat) S" + good.substr(good.find(") S") + 3), "malformed field pid"},
      {"4242 (cat) S 1 2 3\n", "only"},
      // fields 51 and 52 missing (52, exit_code, is not needed)
      {good.substr(0, good.rfind(' ', good.rfind(' ') - 1)), "only 50 fields"},
  };
  for (const auto &c : cases) {
    auto r = parse_stat(c.text);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.text;
    EXPECT_EQ(r.error().code, LMIG_ERR_SYSTEM);
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos)
        << r.error().message << " (wanted " << c.needle << ")";
  }
}

TEST(ParseStat, NonNumericFieldsNameTheField) {
  std::string line = stat_line("cat");
  line.replace(line.find("94294377119744"), 14, "startcodeXXXXX");
  auto r = parse_stat(line);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("malformed field startcode"), std::string::npos)
      << r.error().message;

  line = stat_line("cat");
  line.replace(line.find("140726862303211"), 15, "-40726862303211");
  r = parse_stat(line);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("malformed field env_end"), std::string::npos)
      << r.error().message;
}

TEST(ParseFdinfo, RegularFile) {
  auto r = parse_fdinfo("pos:\t4096\nflags:\t02102002\nmnt_id:\t29\nino:\t1315890\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pos, 4096u);
  EXPECT_EQ(r->flags, 02102002u);
  EXPECT_EQ(r->flags & O_ACCMODE, static_cast<uint32_t>(O_RDWR));
  EXPECT_NE(r->flags & O_APPEND, 0u);
  EXPECT_NE(r->flags & O_CLOEXEC, 0u);
  EXPECT_EQ(r->ino, 1315890u);
}

TEST(ParseFdinfo, ExtraLinesAndNoIno) {
  auto r = parse_fdinfo("pos:\t0\nflags:\t04000\nmnt_id:\t15\n"
                        "eventfd-count:                0\n"
                        "tfd:        5 events:       19 data:                5  pos:0 ino:3 sdev:d\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pos, 0u);
  EXPECT_EQ(r->flags, static_cast<uint32_t>(O_NONBLOCK));
  EXPECT_EQ(r->ino, 0u);
}

TEST(ParseFdinfo, LargePosition) {
  auto r = parse_fdinfo("pos:\t18446744073709551615\nflags:\t0\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pos, ~0ull);
}

TEST(ParseFdinfo, Malformed) {
  struct Case {
    const char *text;
    const char *needle;
  } cases[] = {
      {"", "pos or flags missing"},
      {"pos:\t0\n", "pos or flags missing"},
      {"flags:\t02\n", "pos or flags missing"},
      {"pos:\tx\nflags:\t02\n", "malformed field pos"},
      {"pos:\t-1\nflags:\t02\n", "malformed field pos"},
      {"pos:\t0\nflags:\t08\n", "malformed field flags"}, // octal
      {"pos:\t0\nflags:\t\n", "malformed field flags"},
      {"pos:\t0\nflags:\t077777777777\n", "malformed field flags"}, // > 32 bits
      {"pos:\t0\nflags:\t02\nino:\tabc\n", "malformed field ino"},
  };
  for (const auto &c : cases) {
    auto r = parse_fdinfo(c.text);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.text;
    EXPECT_EQ(r.error().code, LMIG_ERR_SYSTEM);
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << r.error().message;
  }
}

// --- the live process ---------------------------------------------------------

TEST(ReadStatus, Self) {
  auto r = read_status(getpid());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto &s = *r;
  EXPECT_EQ(s.pid, getpid());
  EXPECT_EQ(s.tgid, getpid());
  EXPECT_EQ(s.ppid, getppid());
  EXPECT_EQ(s.tracer_pid, 0);
  EXPECT_EQ(s.state, 'R');
  EXPECT_GE(s.threads, 1);
  EXPECT_FALSE(s.kthread);
  EXPECT_EQ(s.uid[0], getuid());
  EXPECT_EQ(s.uid[1], geteuid());
  EXPECT_EQ(s.gid[0], getgid());
  EXPECT_EQ(s.gid[1], getegid());
  ASSERT_FALSE(s.nspid.empty());
  EXPECT_EQ(s.nspid.back(), getpid()); // innermost: the namespace we live in

  mode_t mask = umask(0);
  umask(mask);
  EXPECT_EQ(s.umask, mask);

  int ngroups = getgroups(0, nullptr);
  ASSERT_GE(ngroups, 0);
  std::vector<gid_t> groups(static_cast<size_t>(ngroups));
  ASSERT_EQ(getgroups(ngroups, groups.data()), ngroups);
  EXPECT_EQ(s.groups.size(), groups.size());

  auto comm = read_proc_file("/proc/self/comm");
  ASSERT_TRUE(comm.ok());
  EXPECT_EQ(s.name + "\n", *comm);
}

TEST(ReadStatus, SeesBlockedIgnoredAndCaughtSignals) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  sigaddset(&block, SIGRTMIN + 2);
  ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, &old), 0);
  struct sigaction ign {}, old_ign{};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGWINCH, &ign, &old_ign), 0);

  auto r = read_status(getpid());

  sigaction(SIGWINCH, &old_ign, nullptr);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->sig_blk & (1ull << (SIGUSR2 - 1)), 0u);
  EXPECT_NE(r->sig_blk & (1ull << (SIGRTMIN + 2 - 1)), 0u);
  EXPECT_NE(r->sig_ign & (1ull << (SIGWINCH - 1)), 0u);
}

TEST(ReadStat, Self) {
  auto r = read_stat(getpid());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto &s = *r;
  EXPECT_EQ(s.pid, getpid());
  EXPECT_EQ(s.state, 'R');
  EXPECT_EQ(s.flags & kPfKthread, 0u);
  auto st = read_status(getpid());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(s.comm, st->name);

  EXPECT_LT(s.start_code, s.end_code);
  EXPECT_LE(s.start_data, s.end_data);
  EXPECT_LT(s.arg_start, s.arg_end);
  EXPECT_LE(s.arg_end, s.env_start);
  EXPECT_LE(s.env_start, s.env_end);
  // parse_stat is linked into this executable: it lies in its text.
  const auto code = reinterpret_cast<uint64_t>(&parse_stat);
  EXPECT_TRUE(code >= s.start_code && code < s.end_code);

  // arg_start..arg_end is our own argv: the same bytes as /proc/self/cmdline.
  auto cmdline = read_proc_file("/proc/self/cmdline");
  ASSERT_TRUE(cmdline.ok());
  ASSERT_EQ(cmdline->size(), s.arg_end - s.arg_start);
  EXPECT_EQ(std::memcmp(reinterpret_cast<const void *>(s.arg_start), cmdline->data(),
                        cmdline->size()),
            0);

  // start_stack lies in [stack]
  auto maps = read_maps(getpid());
  ASSERT_TRUE(maps.ok());
  bool in_stack = false;
  for (const auto &e : *maps)
    if (e.path == "[stack]" && s.start_stack >= e.start && s.start_stack < e.end)
      in_stack = true;
  EXPECT_TRUE(in_stack);
}

TEST(ReadStat, ParentAgrees) {
  auto r = read_stat(getppid());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pid, getppid());
  auto st = read_status(getppid());
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->pid, getppid());
  EXPECT_EQ(st->tgid, getppid());
}

TEST(ReadFdinfo, OpenFile) {
  char path[] = "/tmp/lmig-fdinfo-XXXXXX";
  int fd = mkostemp(path, O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  unlink(path);
  ASSERT_EQ(write(fd, "0123456789", 10), 10);
  struct stat sb {};
  ASSERT_EQ(fstat(fd, &sb), 0);
  auto r = read_fdinfo(getpid(), fd);
  int nb = open("/dev/null", O_WRONLY | O_NONBLOCK);
  auto r2 = read_fdinfo(getpid(), nb);
  close(nb);
  close(fd);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pos, 10u);
  EXPECT_EQ(r->flags & O_ACCMODE, static_cast<uint32_t>(O_RDWR));
  EXPECT_NE(r->flags & O_APPEND, 0u);
  EXPECT_NE(r->flags & O_CLOEXEC, 0u);
  EXPECT_EQ(r->ino, sb.st_ino);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->flags & O_ACCMODE, static_cast<uint32_t>(O_WRONLY));
  EXPECT_NE(r2->flags & O_NONBLOCK, 0u);
  EXPECT_EQ(r2->flags & O_CLOEXEC, 0u);
}

TEST(ReadFdinfo, ClosedFd) {
  auto r = read_fdinfo(getpid(), 1000000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, ENOENT);
}

TEST(ReadStatus, NoSuchProcess) {
  auto r = read_status(0x3fffffff);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, ENOENT);
  auto s = read_stat(0x3fffffff);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().sys_errno, ENOENT);
}

} // namespace
} // namespace lmig

namespace lmig {
namespace {

TEST(Terminals, ControllingTerminalsAreNamedFromTtyNr) {
  EXPECT_EQ(terminal_of((136 << 8) | 3), "/dev/pts/3");
  EXPECT_EQ(terminal_of((137 << 8) | 4), "/dev/pts/260");
  EXPECT_EQ(terminal_of((4 << 8) | 1), "/dev/tty1");
  EXPECT_EQ(terminal_of((4 << 8) | 64), "/dev/ttyS0");
  EXPECT_TRUE(refuse_controlling_terminal(42, 0).ok());
  auto st = refuse_controlling_terminal(42, (136 << 8) | 3);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("PID 42 has a controlling terminal (/dev/pts/3)"),
            std::string::npos)
      << st.error().message;
}

TEST(Terminals, TerminalDevicesAreToldFromOtherCharacterDevices) {
  EXPECT_EQ(terminal_kind(makedev(5, 2), "/dev/ptmx"), "pty master /dev/ptmx");
  EXPECT_EQ(terminal_kind(makedev(136, 0), "/dev/pts/0"), "terminal /dev/pts/0");
  EXPECT_EQ(terminal_kind(makedev(5, 0), "/dev/tty"), "controlling terminal /dev/tty");
  EXPECT_FALSE(terminal_kind(makedev(1, 3), "/dev/null"));
  EXPECT_FALSE(terminal_kind(makedev(1, 9), "/dev/urandom"));
}

} // namespace
} // namespace lmig
