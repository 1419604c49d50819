// A Channel over one RDMA link: the engine's pager and page server use it
// as they use TCP. Pages that arrive stay in the link's registered slot
// (UFFDIO_COPY takes them from there) until released.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "transport/channel.hpp"
#include "transport/rdma/rdma_link.hpp"

namespace lmig::rdma {

class RdmaChannel final : public Channel {
public:
  explicit RdmaChannel(std::unique_ptr<RdmaLink> link) : link_(std::move(link)) {}

  const std::string &peer() const override { return link_->peer(); }
  const char *kind() const override { return "rdma"; }
  Status send(wire::Type type, std::span<const uint8_t> payload) override {
    return link_->send(type, payload);
  }
  uint32_t max_pages() const override { return link_->max_pages(); }
  Result<PageBuffer> acquire() override;
  Status send_pages(const PageBuffer &buffer, const wire::PagesHeader &h) override {
    return link_->send_pages(RdmaLink::Staging{buffer.index, buffer.data}, h);
  }
  Status flush() override { return link_->flush(); }
  Result<std::optional<InMessage>> poll() override;
  Result<InMessage> next(int timeout_ms) override;
  void release(const InMessage &m) override;
  Result<bool> arm() override { return link_->arm(); }
  int event_fd() const override { return link_->event_fd(); }
  void shut_down() override { link_->shut_down(); }

  RdmaLink &link() { return *link_; }

private:
  InMessage keep(Incoming in);

  std::unique_ptr<RdmaLink> link_;
  std::map<uint64_t, Incoming> out_; // handed out, not yet released
  uint64_t next_token_ = 1;
};

// Whether this host has an RDMA device lmig can use (and fork() is safe
// while memory is registered, which lmigd needs: it forks restore children).
bool rdma_usable(std::string *why = nullptr);

} // namespace lmig::rdma
