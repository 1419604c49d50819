#include "engine/capture/terminals.hpp"

#include <sys/sysmacros.h>

namespace lmig {
namespace {

constexpr unsigned kTtyMajor = 4, kTtyAuxMajor = 5, kPtsFirstMajor = 136, kPtsLastMajor = 143;

} // namespace

std::optional<std::string> terminal_kind(dev_t rdev, const std::string &link) {
  const unsigned maj = major(rdev), min = minor(rdev);
  if (maj == kTtyAuxMajor && min == 2)
    return "pty master " + link;
  if (maj == kTtyAuxMajor && min == 0)
    return "controlling terminal " + link;
  if (maj == kTtyAuxMajor && min == 1)
    return "console " + link;
  if (maj == kTtyMajor || (maj >= kPtsFirstMajor && maj <= kPtsLastMajor))
    return "terminal " + link;
  return std::nullopt;
}

std::string terminal_of(int tty_nr) {
  // tty_nr packs the device number as the kernel's old_encode_dev-like
  // layout: minor in bits 0-7 and 20-31, major in bits 8-19.
  const unsigned u = static_cast<unsigned>(tty_nr);
  const unsigned maj = (u >> 8) & 0xfff, min = (u & 0xff) | ((u >> 12) & 0xfff00);
  if (maj >= kPtsFirstMajor && maj <= kPtsLastMajor)
    return "/dev/pts/" + std::to_string((maj - kPtsFirstMajor) * 256 + min);
  if (maj == kTtyMajor && min < 64)
    return "/dev/tty" + std::to_string(min);
  if (maj == kTtyMajor)
    return "/dev/ttyS" + std::to_string(min - 64);
  if (maj == kTtyAuxMajor && min == 1)
    return "/dev/console";
  return "the terminal " + std::to_string(maj) + ":" + std::to_string(min);
}

Status refuse_controlling_terminal(pid_t pid, int tty_nr) {
  if (tty_nr == 0)
    return {};
  return make_error(LMIG_ERR_UNSUPPORTED, "PID " + std::to_string(pid) +
                                              " has a controlling terminal (" +
                                              terminal_of(tty_nr) +
                                              "); that is not supported yet (start it with "
                                              "setsid, away from a terminal)");
}

} // namespace lmig
