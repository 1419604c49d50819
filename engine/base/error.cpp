#include "engine/base/error.hpp"

#include <cstring>

namespace lmig {

Error make_error(lmig_status code, std::string message, int sys_errno) {
  Error e;
  e.code = code;
  e.sys_errno = sys_errno;
  e.message = std::move(message);
  return e;
}

Error sys_error(const std::string &what, int sys_errno) {
  return make_error(LMIG_ERR_SYSTEM, what + ": " + std::strerror(sys_errno), sys_errno);
}

std::string Error::describe() const {
  switch (side) {
  case Side::source:
    return "source: " + message;
  case Side::target:
    return "target: " + message;
  case Side::local:
    break;
  }
  return message;
}

} // namespace lmig
