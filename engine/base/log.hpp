// One-line event log. The library never prints by itself: it hands lines to
// the sink that the embedding program installed (lmigd writes them to stderr).
#pragma once

#include <cstdarg>
#include <functional>
#include <string>

namespace lmig {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

using LogSink = std::function<void(LogLevel, const std::string &)>;

void set_log_sink(LogSink sink, LogLevel min_level);
void log_line(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LMIG_DEBUG(...) ::lmig::log_line(::lmig::LogLevel::debug, __VA_ARGS__)
#define LMIG_INFO(...) ::lmig::log_line(::lmig::LogLevel::info, __VA_ARGS__)
#define LMIG_WARN(...) ::lmig::log_line(::lmig::LogLevel::warn, __VA_ARGS__)
#define LMIG_ERROR(...) ::lmig::log_line(::lmig::LogLevel::error, __VA_ARGS__)

} // namespace lmig
