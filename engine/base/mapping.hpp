// Owns one anonymous or file mmap; unmaps it exactly once.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <utility>

#include "engine/base/error.hpp"

namespace lmig {

class Mapping {
public:
  Mapping() = default;
  Mapping(void *addr, size_t len) : addr_(addr), len_(len) {}
  Mapping(const Mapping &) = delete;
  Mapping &operator=(const Mapping &) = delete;
  Mapping(Mapping &&o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), len_(std::exchange(o.len_, 0)) {}
  Mapping &operator=(Mapping &&o) noexcept {
    if (this != &o) {
      reset();
      addr_ = std::exchange(o.addr_, nullptr);
      len_ = std::exchange(o.len_, 0);
    }
    return *this;
  }
  ~Mapping() { reset(); }

  // Private anonymous read/write memory of len bytes.
  static Result<Mapping> anonymous(size_t len, int extra_flags = 0) {
    void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags,
                     -1, 0);
    if (p == MAP_FAILED)
      return sys_error("mmap " + std::to_string(len) + " bytes");
    return Mapping(p, len);
  }

  void *get() const { return addr_; }
  unsigned char *bytes() const { return static_cast<unsigned char *>(addr_); }
  size_t size() const { return len_; }
  void reset() {
    if (addr_)
      ::munmap(addr_, len_);
    addr_ = nullptr;
    len_ = 0;
  }

private:
  void *addr_ = nullptr;
  size_t len_ = 0;
};

} // namespace lmig
