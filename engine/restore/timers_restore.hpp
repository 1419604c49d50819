// Timers and queued signals on the target. Planning (lmigd): the deadlines
// of the image's timers as absolute times on this host's clocks, and the
// restorer's signal-queue records. Executing (restore child, syscalls only):
// setitimer and the POSIX timers, made again with their ids.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/image/image.hpp"
#include "engine/restore/restore_plan.hpp"
#include "restorer/restorer_args.h"

namespace lmig {

// Where a deadline value_ns after captured_ns (CLOCK_REALTIME) falls on
// clock, read now. Monotonic clocks are placed by the wall-clock time that
// has passed since (they need not agree between hosts). Never 0.
uint64_t timer_deadline(int32_t clockid, uint64_t value_ns, uint64_t captured_ns);

TimersPlan plan_timers(const ProcessImage &im);

// The restorer's records of a queue; a POSIX timer's own queued signal
// becomes an instruction to make that timer queue it again.
std::vector<lmig_rst_siginfo> plan_signal_queue(const std::vector<SiginfoImage> &q,
                                                const TimersPlan &timers);

namespace child {

struct TimerFailure {
  uint32_t step = 0;
  int err = 0;
  uint64_t arg = 0;
};

// In the restore child, every signal blocked. False and why on failure.
bool restore_timers(const TimersPlan &t, TimerFailure &why);

} // namespace child
} // namespace lmig
