#include "engine/image/timer_validation.hpp"

#include <signal.h>
#include <time.h>

#include <algorithm>

namespace lmig {
namespace {

Error bad(const std::string &why) { return make_error(LMIG_ERR_IMAGE, "image: " + why); }

// A century in nanoseconds: larger values are not timers anyone set.
constexpr uint64_t kMaxTimerNs = 100ull * 365 * 24 * 3600 * 1000000000ull;

bool signal_ok(int32_t sig) { return sig >= 1 && sig <= 64 && sig != SIGKILL && sig != SIGSTOP; }

} // namespace

bool posix_timer_clock_supported(int32_t clockid) {
  return clockid == CLOCK_REALTIME || clockid == CLOCK_MONOTONIC || clockid == CLOCK_BOOTTIME ||
         clockid == CLOCK_TAI;
}

Status validate_timers(const ProcessImage &im) {
  for (const auto &i : im.timers.itimers)
    if (i.value_ns > kMaxTimerNs || i.interval_ns > kMaxTimerNs)
      return bad("itimer beyond a century");
  int64_t prev = -1;
  for (const auto &p : im.timers.posix) {
    std::string what = "POSIX timer " + std::to_string(p.id);
    if (p.id < 0 || p.id <= prev)
      return bad(what + ": ids negative or out of order");
    prev = p.id;
    if (!posix_timer_clock_supported(p.clockid))
      return bad(what + ": clock " + std::to_string(p.clockid) + " cannot be restored");
    if (p.value_ns > kMaxTimerNs || p.interval_ns > kMaxTimerNs)
      return bad(what + ": beyond a century");
    if (p.overrun_last < 0)
      return bad(what + ": negative overrun");
    if (p.notify == SIGEV_NONE) {
      if (p.signal_pending)
        return bad(what + ": SIGEV_NONE with a queued signal");
      continue;
    }
    if (p.notify != SIGEV_SIGNAL && p.notify != (SIGEV_SIGNAL | SIGEV_THREAD_ID))
      return bad(what + ": notification " + std::to_string(p.notify) + " cannot be restored");
    if (!signal_ok(p.signo))
      return bad(what + ": signal " + std::to_string(p.signo));
    if ((p.notify & SIGEV_THREAD_ID) &&
        std::none_of(im.threads.begin(), im.threads.end(),
                     [&](const ThreadImage &t) { return t.tid == p.tid; }))
      return bad(what + ": signals thread " + std::to_string(p.tid) + ", which it does not have");
  }
  return {};
}

} // namespace lmig
