// Errors as values: every failure carries a code, the errno that caused it
// (if any), which side of a migration it happened on, and a readable context.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "lmig/lmig.h"

namespace lmig {

enum class Side : uint8_t { local = 0, source = 1, target = 2 };

struct Error {
  lmig_status code = LMIG_ERR_INTERNAL;
  int sys_errno = 0;
  Side side = Side::local;
  std::string message;
  int fd = -1; // the fd of the process it is about, when it is about one (a dry run skips it)

  // Prefixes the message with more context ("capture: " + "fd 4: ...").
  Error &context(const std::string &what) {
    message = what + ": " + message;
    return *this;
  }
  Error &on(Side s) {
    side = s;
    return *this;
  }
  std::string describe() const;
};

Error make_error(lmig_status code, std::string message, int sys_errno = 0);
// A failed system call: "what: strerror(errno)".
Error sys_error(const std::string &what, int sys_errno = errno);

// A value or an Error. Deliberately small: ok(), value(), error().
template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T &value() & { return std::get<0>(v_); }
  const T &value() const & { return std::get<0>(v_); }
  T &&value() && { return std::get<0>(std::move(v_)); }
  T *operator->() { return &std::get<0>(v_); }
  const T *operator->() const { return &std::get<0>(v_); }
  T &operator*() & { return std::get<0>(v_); }
  Error &error() & { return std::get<1>(v_); }
  const Error &error() const & { return std::get<1>(v_); }
  Error &&error() && { return std::get<1>(std::move(v_)); }

private:
  std::variant<T, Error> v_;
};

template <> class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), failed_(true) {}
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  Error &error() & { return err_; }
  const Error &error() const & { return err_; }
  Error &&error() && { return std::move(err_); }

private:
  Error err_;
  bool failed_ = false;
};

using Status = Result<void>;

} // namespace lmig

// Propagates an error from an expression returning Result<...>.
#define LMIG_TRY(expr)                                                                             \
  do {                                                                                             \
    auto &&lmig_try_r_ = (expr);                                                                   \
    if (!lmig_try_r_.ok())                                                                         \
      return std::move(lmig_try_r_).error();                                                       \
  } while (0)

#define LMIG_CONCAT_INNER(a, b) a##b
#define LMIG_CONCAT(a, b) LMIG_CONCAT_INNER(a, b)
#define LMIG_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                                                 \
  auto tmp = (expr);                                                                               \
  if (!tmp.ok())                                                                                   \
    return std::move(tmp).error();                                                                 \
  lhs = std::move(tmp).value()
// Declares or assigns lhs from a Result, returning its error on failure.
#define LMIG_ASSIGN_OR_RETURN(lhs, expr)                                                           \
  LMIG_ASSIGN_OR_RETURN_IMPL(LMIG_CONCAT(lmig_r_, __LINE__), lhs, expr)
