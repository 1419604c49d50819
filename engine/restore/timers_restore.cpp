#include "engine/base/clock.hpp"
#include "engine/restore/timers_restore.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

namespace lmig {
namespace {

constexpr uint64_t kNs = 1000000000ull;
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif



} // namespace

uint64_t timer_deadline(int32_t clockid, uint64_t value_ns, uint64_t captured_ns) {
  if (clockid == CLOCK_REALTIME)
    return captured_ns + value_ns;
  uint64_t now_clock = now_ns(clockid), now_real = now_ns(CLOCK_REALTIME);
  uint64_t elapsed = now_real > captured_ns ? now_real - captured_ns : 0;
  uint64_t d = now_clock + value_ns;
  return d > elapsed ? d - elapsed : 1;
}

TimersPlan plan_timers(const ProcessImage &im) {
  TimersPlan t;
  t.captured_ns = im.timers.captured_ns;
  t.itimers = im.timers.itimers;
  for (const auto &p : im.timers.posix) {
    PosixTimerPlan q{p.id, p.clockid, p.notify, p.signo, p.tid, p.sigval, 0, p.interval_ns,
                     p.overrun_last, false};
    if (p.value_ns)
      q.deadline_ns = timer_deadline(p.clockid, p.value_ns, im.timers.captured_ns);
    // A one-shot timer armed again after its signal was queued: that signal
    // is stale (the kernel drops it on delivery), the timer is just armed.
    q.armed_by_restorer = p.signal_pending && (p.interval_ns || !p.value_ns);
    q.on_thread = (p.notify & SIGEV_THREAD_ID) && p.tid != im.pid;
    t.posix.push_back(q);
  }
  return t;
}

std::vector<lmig_rst_siginfo> plan_signal_queue(const std::vector<SiginfoImage> &q,
                                                const TimersPlan &timers) {
  std::vector<lmig_rst_siginfo> out;
  for (const auto &s : q) {
    lmig_rst_siginfo r{};
    std::memcpy(r.info, s.raw.data(), sizeof r.info);
    r.timer_id = -1;
    if (s.code() == kSiTimer) {
      int32_t id;
      std::memcpy(&id, s.raw.data() + 16, sizeof id);
      for (const auto &p : timers.posix)
        if (p.id == id && p.armed_by_restorer && p.signo == s.signo()) {
          // Fires at once; a periodic timer's next expiry stays where it was.
          r.timer_id = id;
          r.interval_ns = p.interval_ns;
          r.value_abs_ns = p.interval_ns && p.deadline_ns > p.interval_ns
                               ? p.deadline_ns - p.interval_ns
                               : 1;
        }
      if (r.timer_id < 0 && std::any_of(out.begin(), out.end(), [&](const lmig_rst_siginfo &o) {
            return o.timer_id == id;
          }))
        continue; // a timer queues one signal at most
    }
    out.push_back(r);
  }
  return out;
}

namespace child {
namespace {

bool failed(TimerFailure &why, uint32_t step, int err, uint64_t arg) {
  why = {step, err, arg};
  return false;
}

// Makes timer `id`, or fails with EBUSY when that id cannot be had.
int create_timer(const PosixTimerPlan &p, bool restore_ids) {
  sigevent sev{};
  sev.sigev_notify = p.notify;
  sev.sigev_signo = p.signo;
  sev.sigev_value.sival_ptr = reinterpret_cast<void *>(p.sigval);
  sev._sigev_un._tid = p.tid;
  if (restore_ids) {
    int id = p.id;
    if (::syscall(SYS_timer_create, p.clockid, &sev, &id) < 0)
      return -errno;
    return id == p.id ? 0 : -EBUSY;
  }
  // Without the kernel's help: ids are handed out in increasing order, so
  // make (and drop) timers until the wanted one comes.
  for (int tries = 0; tries < 65536; tries++) {
    int id = -1;
    if (::syscall(SYS_timer_create, p.clockid, &sev, &id) < 0)
      return -errno;
    if (id == p.id)
      return 0;
    ::syscall(SYS_timer_delete, id);
    if (id > p.id)
      return -EBUSY;
  }
  return -EBUSY;
}

// Lets timer p expire overrun_last + 1 times behind its next deadline, at
// once, and takes its signal: the kernel counts those as the overruns of
// the last signal delivered, and re-arms it for the next deadline.
int make_overrun(const PosixTimerPlan &p) {
  uint64_t back = (static_cast<uint64_t>(p.overrun_last) + 1) * p.interval_ns;
  if (p.deadline_ns <= back)
    return 0; // the clock has not run that long: keep it simply armed
  itimerspec its{to_timespec(p.interval_ns), to_timespec(p.deadline_ns - back)};
  if (::syscall(SYS_timer_settime, p.id, TIMER_ABSTIME, &its, nullptr) < 0)
    return -errno;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, p.signo);
  timespec wait = {1, 0};
  siginfo_t si{};
  for (;;) {
    if (::syscall(SYS_rt_sigtimedwait, &set, &si, &wait, 8) < 0)
      return -errno;
    if (si.si_code == SI_TIMER && si.si_timerid == p.id)
      return 0;
  }
}

} // namespace

bool restore_timers(const TimersPlan &t, TimerFailure &why) {
  bool restore_ids = ::prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0,
                             0) == 0;
  bool on_threads = false;
  for (const auto &p : t.posix) {
    if (p.on_thread) { // the restorer makes it once its thread exists
      if (!restore_ids)
        return failed(why, LMIG_RST_STEP_POSIX_TIMER, EOPNOTSUPP, static_cast<uint64_t>(p.id));
      on_threads = true;
      continue;
    }
    int r = create_timer(p, restore_ids);
    if (r < 0)
      return failed(why, LMIG_RST_STEP_POSIX_TIMER, -r, static_cast<uint64_t>(p.id));
  }
  // Left on for the restorer's timers, which it turns off.
  if (restore_ids && !on_threads)
    ::prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0);
  for (const auto &p : t.posix) {
    if (!p.deadline_ns || p.armed_by_restorer || p.on_thread)
      continue;
    if (p.overrun_last > 0 && p.interval_ns && p.notify != SIGEV_NONE) {
      int r = make_overrun(p);
      if (r < 0)
        return failed(why, LMIG_RST_STEP_POSIX_TIMER, -r, static_cast<uint64_t>(p.id));
      continue;
    }
    itimerspec its{to_timespec(p.interval_ns), to_timespec(p.deadline_ns)};
    if (::syscall(SYS_timer_settime, p.id, TIMER_ABSTIME, &its, nullptr) < 0)
      return failed(why, LMIG_RST_STEP_POSIX_TIMER, errno, static_cast<uint64_t>(p.id));
  }
  // The real itimer runs on wall-clock time; the CPU-time ones keep what
  // was left of them.
  uint64_t now_real = now_ns(CLOCK_REALTIME);
  uint64_t elapsed = now_real > t.captured_ns ? now_real - t.captured_ns : 0;
  for (int which = 0; which < 3; which++) {
    const auto &i = t.itimers[static_cast<size_t>(which)];
    if (!i.value_ns)
      continue;
    uint64_t value = i.value_ns;
    if (which == ITIMER_REAL)
      value = value > elapsed + 1000 ? value - elapsed : 1000;
    itimerval v{{static_cast<time_t>(i.interval_ns / kNs),
                 static_cast<suseconds_t>(i.interval_ns % kNs / 1000)},
                {static_cast<time_t>(value / kNs), static_cast<suseconds_t>(value % kNs / 1000)}};
    if (v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0)
      v.it_value.tv_usec = 1;
    if (::setitimer(static_cast<__itimer_which>(which), &v, nullptr) < 0)
      return failed(why, LMIG_RST_STEP_ITIMER, errno, static_cast<uint64_t>(which));
  }
  return true;
}

} // namespace child
} // namespace lmig
