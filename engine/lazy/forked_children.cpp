#include "engine/lazy/forked_children.hpp"

#include <cerrno>

#include "engine/lazy/uffd.hpp"

namespace lmig {
namespace {
constexpr uint64_t kPage = 4096;
}

void ForkedChildren::add(UniqueFd uffd, const LazyPages &pages, const AddressMap &map) {
  if (on_uffd)
    on_uffd(uffd.get());
  children_.push_back(std::unique_ptr<Child>(new Child{std::move(uffd), pages.clone(), map, {}}));
}

Status ForkedChildren::fault(Child &c, uint64_t target, const Ask &ask, bool &defer) {
  defer = false;
  auto src = c.map.to_source(target);
  int64_t i = src ? c.pages.index(*src) : -1;
  LazyPages::State st = i >= 0 ? c.pages.get(i) : LazyPages::kAbsent;
  if (st == LazyPages::kAbsent) {
    auto o = uffd::zeropage(c.uffd.get(), target, kPage);
    if (o.err == EAGAIN)
      defer = true;
    else if (o.err == EEXIST)
      (void)uffd::wake(c.uffd.get(), target, kPage);
    else if (o.err == ESRCH)
      c.gone = true;
    return {};
  }
  if (st == LazyPages::kDone)
    return uffd::wake(c.uffd.get(), target, kPage);
  if (st == LazyPages::kRequested)
    return {};
  c.pages.set(i, LazyPages::kRequested);
  return ask(*src, 1);
}

Status ForkedChildren::drain(const Ask &ask, bool &progress) {
  // Children forked meanwhile are appended: index, not iterators.
  for (size_t k = 0; k < children_.size(); k++) {
    Child &c = *children_[k];
    uffd::Event ev[64];
    for (;;) {
      LMIG_ASSIGN_OR_RETURN(size_t n, uffd::read_events(c.uffd.get(), ev, 64));
      for (size_t e = 0; e < n; e++) {
        const auto &x = ev[e];
        switch (x.kind) {
        case uffd::Event::fault: c.faults.push_back(x.addr); break;
        case uffd::Event::remove:
        case uffd::Event::unmap:
          c.map.drop(x.addr, x.end, [&](uint64_t src, uint64_t len) {
            for (uint64_t a = src; a < src + len; a += kPage)
              if (int64_t i = c.pages.index(a); i >= 0 && c.pages.get(i) != LazyPages::kAbsent)
                c.pages.set(i, LazyPages::kDone);
          });
          (void)uffd::wake(c.uffd.get(), x.addr, x.end - x.addr);
          break;
        case uffd::Event::remap: c.map.remap(x.addr, x.end, x.len); break;
        case uffd::Event::fork: add(UniqueFd(x.fd), c.pages, c.map); break;
        case uffd::Event::other: break;
        }
      }
      if (n)
        progress = true;
      if (n < 64)
        break;
    }
    Child &again = *children_[k]; // add() may have moved the vector
    size_t done = 0;
    for (; done < again.faults.size(); done++) {
      bool defer = false;
      LMIG_TRY(fault(again, again.faults[done], ask, defer));
      if (defer)
        break;
    }
    again.faults.erase(again.faults.begin(), again.faults.begin() + static_cast<long>(done));
  }
  drop_gone();
  return {};
}

Status ForkedChildren::install(uint64_t src, const uint8_t *data, uint32_t npages) {
  for (auto &cp : children_) {
    Child &c = *cp;
    for (uint32_t k = 0; k < npages && !c.gone; k++) {
      const uint64_t s = src + k * kPage;
      int64_t i = c.pages.index(s);
      if (i < 0)
        continue;
      LazyPages::State st = c.pages.get(i);
      if (st != LazyPages::kMissing && st != LazyPages::kRequested && st != LazyPages::kUnknown)
        continue;
      bool again = false;
      c.map.to_target(s, kPage, [&](uint64_t, uint64_t tgt, uint64_t) {
        auto o = uffd::copy(c.uffd.get(), tgt, data + k * kPage, kPage);
        if (o.err == ESRCH)
          c.gone = true;
        else if (o.err == EAGAIN)
          again = true; // its layout is changing: it faults or is swept again
      });
      if (!again)
        c.pages.set(i, LazyPages::kDone);
    }
  }
  drop_gone();
  return {};
}

void ForkedChildren::add_inventory(uint64_t addr, uint64_t npages) {
  for (auto &c : children_)
    c->pages.add_inventory(addr, npages);
}

void ForkedChildren::inventory_complete() {
  for (auto &c : children_)
    c->pages.inventory_complete();
}

void ForkedChildren::forget_requests() {
  for (auto &c : children_)
    c->pages.forget_requests();
}

Result<bool> ForkedChildren::ask_missing(const Ask &ask) {
  for (auto &c : children_) {
    if (!c->pages.inventory_known() || c->pages.remaining() == 0)
      continue;
    auto a = c->pages.first_in(LazyPages::kMissing);
    if (!a)
      continue;
    const int64_t i = c->pages.index(*a);
    uint32_t n = c->pages.run_of(*a, LazyPages::kMissing, 256);
    for (uint32_t r = 0; r < n; r++)
      c->pages.set(i + r, LazyPages::kRequested);
    LMIG_TRY(ask(*a, n));
    return true;
  }
  return false;
}

uint64_t ForkedChildren::remaining() const {
  uint64_t n = 0;
  for (const auto &c : children_)
    n += c->pages.remaining();
  return n;
}

void ForkedChildren::poll_fds(std::vector<pollfd> &out) const {
  for (const auto &c : children_)
    out.push_back({c->uffd.get(), POLLIN, 0});
}

void ForkedChildren::drop_gone() {
  std::erase_if(children_, [](const auto &c) { return c->gone; });
}

} // namespace lmig
