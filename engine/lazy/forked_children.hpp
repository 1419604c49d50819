// Processes the restored process forks while its memory is still coming.
// Each has a userfaultfd of its own (UFFD_EVENT_FORK) and lacks what its
// parent lacked at the fork. The source keeps every page as it was at the
// freeze, which is what such a child would have had: pages that arrive go
// into every child still lacking them, and a child's fault on a page it
// lacks is asked of the source. A child that exits or execs is dropped
// (its userfaultfd answers ESRCH). Owned by the pager thread.
#pragma once

#include <poll.h>

#include <functional>
#include <memory>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/base/unique_fd.hpp"
#include "engine/lazy/address_map.hpp"
#include "engine/lazy/lazy_pages.hpp"

namespace lmig {

class ForkedChildren {
public:
  // Asks the source for [src, src + npages).
  using Ask = std::function<Status(uint64_t src, uint32_t npages)>;

  // Told of each child's userfaultfd as it comes (the namespace init keeps
  // a copy: see restore/lifeline.hpp).
  std::function<void(int uffd)> on_uffd;

  // A child forked from a process whose pages and layout are these.
  void add(UniqueFd uffd, const LazyPages &pages, const AddressMap &map);
  bool empty() const { return children_.empty(); }
  size_t size() const { return children_.size(); }

  // Reads every child's events: layout changes, forks of their own, and
  // faults (zero pages answered here, the rest asked for).
  Status drain(const Ask &ask, bool &progress);
  // Source pages that arrived: into every child that lacks them.
  Status install(uint64_t src, const uint8_t *data, uint32_t npages);
  // The inventory reached the parent: the children learn it too.
  void add_inventory(uint64_t addr, uint64_t npages);
  void inventory_complete();
  // The demand link dropped: requests in flight are lost.
  void forget_requests();
  // After the push: asks for (at most one run of) what a child still
  // lacks; false when nothing is left to ask for.
  Result<bool> ask_missing(const Ask &ask);
  uint64_t remaining() const;
  // Appends a pollfd per child.
  void poll_fds(std::vector<pollfd> &out) const;

private:
  struct Child {
    UniqueFd uffd;
    LazyPages pages;
    AddressMap map;
    std::vector<uint64_t> faults; // deferred while its layout changes
    bool gone = false;
  };
  Status fault(Child &c, uint64_t target, const Ask &ask, bool &defer);
  void drop_gone();
  std::vector<std::unique_ptr<Child>> children_;
};

} // namespace lmig
