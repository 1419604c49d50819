// Helpers for tests that fork a child and trace it: the child is always
// killed and reaped (by its PID) when the test ends, however it ends; it
// reports back over a pipe, and takes orders over another.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "engine/capture/proc_maps.hpp"

namespace lmig::testing {

class Child {
public:
  // Runs body(report_fd, command_fd) in a forked child, which then exits 0.
  // The body must stick to async-signal-safe calls.
  template <typename Body> static Child spawn(Body &&body) {
    int report[2], command[2];
    if (::pipe2(report, O_CLOEXEC) < 0 || ::pipe2(command, O_CLOEXEC) < 0)
      std::abort();
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0)
      std::abort();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(99);
      ::close(report[0]);
      ::close(command[1]);
      body(report[1], command[0]);
      ::_exit(0);
    }
    ::close(report[1]);
    ::close(command[0]);
    return Child(pid, report[0], command[1]);
  }

  Child(Child &&o) noexcept : pid_(o.pid_), report_(o.report_), command_(o.command_) {
    o.pid_ = -1;
    o.report_ = o.command_ = -1;
  }
  Child(const Child &) = delete;
  Child &operator=(const Child &) = delete;
  ~Child() {
    kill_and_reap();
    if (report_ >= 0)
      ::close(report_);
    if (command_ >= 0)
      ::close(command_);
  }

  pid_t pid() const { return pid_; }
  int report_fd() const { return report_; }
  int command_fd() const { return command_; }

  // SIGKILL and reap; safe if it is traced, stopped, already dead or reaped.
  void kill_and_reap() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, __WALL);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status))
        break;
    }
    pid_ = -1;
  }
  // The test reaped it itself (wait_stop saw it exit).
  void forget() { pid_ = -1; }

  // Reads exactly n bytes of the child's report; false on timeout or EOF.
  bool read_report(void *buf, size_t n, int timeout_ms = 3000) const {
    auto *p = static_cast<char *>(buf);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return false;
      pollfd pfd{report_, POLLIN, 0};
      int pr = ::poll(&pfd, 1, static_cast<int>(left.count()));
      if (pr < 0 && errno == EINTR)
        continue;
      if (pr <= 0)
        return false;
      ssize_t got = ::read(report_, p, n);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        return false;
      p += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }
  template <typename T> bool read_report(T &out, int timeout_ms = 3000) const {
    return read_report(&out, sizeof out, timeout_ms);
  }
  // True if a report is waiting (without reading it).
  bool report_pending(int timeout_ms = 0) const {
    pollfd pfd{report_, POLLIN, 0};
    return ::poll(&pfd, 1, timeout_ms) > 0 && (pfd.revents & POLLIN);
  }
  bool command(char c) const { return ::write(command_, &c, 1) == 1; }

private:
  Child(pid_t pid, int report, int command) : pid_(pid), report_(report), command_(command) {}
  pid_t pid_;
  int report_;
  int command_;
};

// The first field of /proc/PID/syscall: the number of the system call the
// task is blocked in, -1 for "running", -2 if unreadable.
inline long blocked_syscall(pid_t pid) {
  auto text = read_proc_file("/proc/" + std::to_string(pid) + "/syscall");
  if (!text.ok() || text->empty())
    return -2;
  if (text->starts_with("running"))
    return -1;
  return std::strtol(text->c_str(), nullptr, 10);
}

// Waits until the task sleeps in system call nr (e.g. SYS_pause).
inline bool wait_blocked_in(pid_t pid, long nr, int timeout_ms = 3000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (blocked_syscall(pid) == nr)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// The state letter of /proc/PID/stat ('R', 'S', 't', 'Z', ...).
inline char proc_state(pid_t pid) {
  auto text = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text.ok())
    return '?';
  size_t close = text->rfind(')');
  return close == std::string::npos || close + 2 >= text->size() ? '?' : (*text)[close + 2];
}

inline uint64_t sig_bit(int sig) { return 1ull << (sig - 1); }

} // namespace lmig::testing

// --- child programs shared by the ptrace and remote-syscall tests -------------

namespace lmig::testing {

// What a child reports back. tag: 'R' ready, 'P' pause() returned, 'S' spin
// loop ended, 'N' nanosleep returned.
struct Report {
  int32_t tag = 0;
  int32_t pause_returns = 0;
  int32_t handler_runs = 0;
  int32_t err = 0;
  int64_t ret = 0;
  uint64_t sigmask = 0; // the child's own view of its blocked mask
  uint64_t value = 0;   // spin: iterations; nanosleep: elapsed ns
};

inline volatile sig_atomic_t g_handler_runs = 0;
inline volatile sig_atomic_t g_stop_spin = 0;

inline void on_usr1(int) {
  g_handler_runs = g_handler_runs + 1;
  g_stop_spin = 1;
}

// SIGUSR1 -> on_usr1, with SIGWINCH in its sa_mask; SIGUSR2 blocked.
inline void child_setup_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGWINCH);
  sa.sa_flags = 0;
  ::sigaction(SIGUSR1, &sa, nullptr);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  ::sigprocmask(SIG_BLOCK, &block, nullptr);
}

inline uint64_t child_blocked_mask() {
  sigset_t s;
  sigemptyset(&s);
  ::sigprocmask(SIG_BLOCK, nullptr, &s);
  uint64_t m = 0;
  std::memcpy(&m, &s, sizeof m);
  return m;
}

inline void child_send(int fd, Report r) {
  r.handler_runs = g_handler_runs;
  r.sigmask = child_blocked_mask();
  ssize_t n = ::write(fd, &r, sizeof r);
  (void)n;
}

// Reports ready, then sleeps in pause() forever, reporting every return.
inline void pause_child(int report, int) {
  child_setup_signals();
  child_send(report, Report{.tag = 'R'});
  int returns = 0;
  for (;;) {
    long ret = ::pause(); // returns only when a handler ran
    int err = errno;
    returns++;
    child_send(report, Report{.tag = 'P', .pause_returns = returns, .err = err, .ret = ret});
  }
}

// Counts in rcx and r11 in lockstep until SIGUSR1 arrives; false if the two
// ever differ (a tracer that leaves rcx/r11 clobbered by `syscall` breaks it).
inline bool spin_checked(uint64_t &iterations) {
  uint64_t bad = 0, n = 0;
  asm volatile("xor %%ecx, %%ecx\n\t"
               "xor %%r11d, %%r11d\n"
               "1:\n\t"
               "inc %%rcx\n\t"
               "inc %%r11\n\t"
               "cmp %%rcx, %%r11\n\t"
               "jne 2f\n\t"
               "cmpl $0, %[flag]\n\t"
               "je 1b\n\t"
               "jmp 3f\n"
               "2:\n\t"
               "mov $1, %[bad]\n"
               "3:\n\t"
               "mov %%rcx, %[n]\n\t"
               : [bad] "+r"(bad), [n] "=r"(n)
               : [flag] "m"(g_stop_spin)
               : "rcx", "r11", "cc", "memory");
  iterations = n;
  return bad == 0;
}

// Reports ready, spins until SIGUSR1, reports the loop's verdict, then pauses.
inline void spin_child(int report, int) {
  child_setup_signals();
  child_send(report, Report{.tag = 'R'});
  uint64_t n = 0;
  bool ok = spin_checked(n);
  child_send(report, Report{.tag = 'S', .ret = ok ? 0 : -1, .value = n});
  for (;;)
    ::pause();
}

// Reports ready, sleeps 1 s in nanosleep(2) (no handler involved), reports.
inline void nanosleep_child(int report, int) {
  child_setup_signals();
  timespec t0{}, t1{};
  ::clock_gettime(CLOCK_MONOTONIC, &t0);
  child_send(report, Report{.tag = 'R'});
  timespec req{1, 0}, rem{};
  long ret = ::syscall(SYS_nanosleep, &req, &rem);
  int err = errno;
  ::clock_gettime(CLOCK_MONOTONIC, &t1);
  uint64_t ns = static_cast<uint64_t>((t1.tv_sec - t0.tv_sec) * 1000000000ll +
                                      (t1.tv_nsec - t0.tv_nsec));
  child_send(report, Report{.tag = 'N', .err = err, .ret = ret, .value = ns});
  for (;;)
    ::pause();
}

// Reports ready, then calls getppid() in a tight loop.
inline void getppid_child(int report, int) {
  child_send(report, Report{.tag = 'R'});
  for (;;)
    ::syscall(SYS_getppid);
}

// Reports ready, then exits with the code it is sent.
inline void exit_child(int report, int command) {
  child_send(report, Report{.tag = 'R'});
  unsigned char code = 0;
  while (::read(command, &code, 1) < 0 && errno == EINTR) {
  }
  ::_exit(code);
}

} // namespace lmig::testing
