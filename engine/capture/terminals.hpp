// Terminals do not move yet: a pty master reopened by its path would be a
// new, unconnected pty, a terminal device on another host is another
// terminal, and a controlling terminal is not made again. A process with
// any of them is refused by name instead of coming back without them.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "engine/base/error.hpp"

namespace lmig {

// What a character device is when it is a terminal ("pty master
// /dev/ptmx", "terminal /dev/pts/3", ...); nullopt for other devices.
std::optional<std::string> terminal_kind(dev_t rdev, const std::string &link);

// The device name of a controlling terminal from /proc/PID/stat's tty_nr
// ("/dev/pts/3", "/dev/tty1", ...).
std::string terminal_of(int tty_nr);

// Refuses a process with a controlling terminal (tty_nr != 0).
Status refuse_controlling_terminal(pid_t pid, int tty_nr);

} // namespace lmig
