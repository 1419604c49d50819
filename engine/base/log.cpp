#include "engine/base/log.hpp"

#include <pthread.h>

#include <cstdio>
#include <mutex>

#include "engine/base/printable.hpp"

namespace lmig {
namespace {
std::mutex g_mutex;
LogSink g_sink;
LogLevel g_min = LogLevel::info;

// The migration worker is forked from a caller that may be logging on
// another thread: the child must not inherit the lock taken.
const int g_fork_safe = [] {
  return ::pthread_atfork([] { g_mutex.lock(); }, [] { g_mutex.unlock(); },
                          [] { g_mutex.unlock(); });
}();

} // namespace

void set_log_sink(LogSink sink, LogLevel min_level) {
  std::lock_guard lock(g_mutex);
  g_sink = std::move(sink);
  g_min = min_level;
}

void log_line(LogLevel level, const char *fmt, ...) {
  std::lock_guard lock(g_mutex);
  if (!g_sink || level < g_min)
    return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  // One event, one line, whatever text from a peer or a migrated process
  // (its comm, a path) was formatted into it.
  g_sink(level, printable(buf, 2 * sizeof buf));
}

} // namespace lmig
