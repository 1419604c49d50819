// A Channel over one TCP connection, built from the pieces lmig already has:
// receiving either inline on the caller's thread (a FrameAssembler: the
// demand channel, where a waiting fault must not cross threads) or on a
// FrameReader thread through io_uring (the bulk channel); sending either
// immediately (demand answers) or batched through io_uring (the push).
#pragma once

#include <memory>
#include <vector>

#include "transport/channel.hpp"
#include "transport/frame_assembler.hpp"
#include "transport/frame_reader.hpp"
#include "transport/tcp_connection.hpp"
#include "transport/uring_sender.hpp"

namespace lmig {

class TcpChannel final : public Channel {
public:
  enum class Receive { inline_assembly, reader_thread };
  enum class Send { immediate, batched };
  static Result<std::unique_ptr<TcpChannel>> create(Connection conn, Receive receive, Send send,
                                                    uint32_t max_pages);
  ~TcpChannel() override;

  const std::string &peer() const override { return conn_.peer(); }
  const char *kind() const override { return "tcp"; }
  Status send(wire::Type type, std::span<const uint8_t> payload) override;
  uint32_t max_pages() const override { return max_pages_; }
  Result<PageBuffer> acquire() override;
  Status send_pages(const PageBuffer &buffer, const wire::PagesHeader &h) override;
  Status flush() override;
  Result<std::optional<InMessage>> poll() override;
  Result<InMessage> next(int timeout_ms) override;
  void release(const InMessage &m) override;
  Result<bool> arm() override { return true; }
  int event_fd() const override;
  void shut_down() override;
  bool sealed() const override { return conn_.crypto() != nullptr; }

private:
  TcpChannel(Connection conn, uint32_t max_pages);
  Result<std::optional<InMessage>> poll_inline();
  InMessage from_frame(wire::Type type, std::span<const uint8_t> payload, bool checked,
                       bool checksum_ok, uint64_t token) const;

  Connection conn_;
  uint32_t max_pages_;
  FrameAssembler assembler_;
  bool inline_taken_ = false; // the assembler's front frame is out, not released
  std::unique_ptr<FrameReader> reader_;
  std::unique_ptr<UringSender> sender_;
  std::unique_ptr<uint8_t[]> immediate_; // immediate sends: one buffer
};

} // namespace lmig
