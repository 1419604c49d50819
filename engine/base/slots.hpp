// A fixed number of places, each held by a Slot until it goes: how a server
// bounds what it serves at once (and so the threads it runs) without
// trusting its peers to leave.
#pragma once

#include <atomic>
#include <cstddef>
#include <optional>
#include <utility>

namespace lmig {

class Slots {
public:
  class Slot {
  public:
    Slot(Slot &&o) noexcept : owner_(std::exchange(o.owner_, nullptr)) {}
    Slot &operator=(Slot &&o) noexcept {
      if (this != &o) {
        release();
        owner_ = std::exchange(o.owner_, nullptr);
      }
      return *this;
    }
    Slot(const Slot &) = delete;
    Slot &operator=(const Slot &) = delete;
    ~Slot() { release(); }
    // Gives the place back now.
    void release() {
      if (owner_)
        std::exchange(owner_, nullptr)->used_.fetch_sub(1);
    }

  private:
    friend class Slots;
    explicit Slot(Slots *owner) : owner_(owner) {}
    Slots *owner_;
  };

  explicit Slots(size_t capacity) : capacity_(capacity) {}
  Slots(const Slots &) = delete;
  Slots &operator=(const Slots &) = delete;

  // A place if one is free; never waits.
  std::optional<Slot> try_take() {
    size_t used = used_.load();
    do {
      if (used >= capacity_)
        return std::nullopt;
    } while (!used_.compare_exchange_weak(used, used + 1));
    return Slot(this);
  }
  size_t in_use() const { return used_.load(); }
  size_t capacity() const { return capacity_; }

private:
  const size_t capacity_;
  std::atomic<size_t> used_{0};
};

} // namespace lmig
