// Connection::recv and recv_within against a raw peer over loopback: what an
// announced frame length costs before its bytes arrive, and how long a peer
// not trusted yet may take.
#include "transport/tcp_connection.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace lmig {
namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

// A Connection accepted by a Listener, and the raw socket of its peer.
struct Pair {
  Connection conn;
  UniqueFd peer;
};

Pair connected_pair() {
  auto l = Listener::bind(Endpoint{"127.0.0.1", 0});
  EXPECT_TRUE(l.ok()) << l.error().message;
  Pair p;
  p.peer.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(l->port());
  EXPECT_EQ(::connect(p.peer.get(), reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
  auto c = l->accept();
  EXPECT_TRUE(c.ok()) << c.error().message;
  p.conn = std::move(c).value();
  return p;
}

void send_all(int fd, const void *data, size_t len) {
  auto *p = static_cast<const uint8_t *>(data);
  while (len) {
    ssize_t w = ::send(fd, p, len, MSG_NOSIGNAL);
    ASSERT_GT(w, 0) << std::strerror(errno);
    p += w;
    len -= static_cast<size_t>(w);
  }
}

void send_header(int fd, wire::Type type, uint32_t length) {
  wire::FrameHeader h{wire::kMagic, static_cast<uint16_t>(type), 0, length, 0};
  send_all(fd, &h, sizeof h);
}

TEST(TcpConnection, BeforeTheHelloALargeFrameIsRefusedFromItsHeader) {
  Pair p = connected_pair();
  send_header(p.peer.get(), wire::Type::hello, 200u << 20);
  std::vector<uint8_t> buf;
  auto t0 = Clock::now();
  auto r = p.conn.recv_within(buf, 2000, wire::kMaxHelloPayload);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LMIG_ERR_PROTOCOL);
  EXPECT_NE(r.error().message.find("209715200 bytes"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("limit 16384"), std::string::npos) << r.error().message;
  EXPECT_LT(ms_since(t0), 1000) << "refused from the header, without waiting for the payload";
  EXPECT_LT(buf.capacity(), 1u << 20);
}

TEST(TcpConnection, AHelloWithinTheBoundIsReceived) {
  Pair p = connected_pair();
  std::vector<uint8_t> hello(wire::kMaxHelloPayload, 0x5a);
  send_header(p.peer.get(), wire::Type::hello, wire::kMaxHelloPayload);
  send_all(p.peer.get(), hello.data(), hello.size());
  std::vector<uint8_t> buf;
  auto r = p.conn.recv_within(buf, 2000, wire::kMaxHelloPayload);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, wire::Type::hello);
  EXPECT_EQ(buf, hello);
}

TEST(TcpConnection, AnAnnouncedLengthIsNotAllocatedBeforeItsBytesArrive) {
  Pair p = connected_pair();
  // 200 MiB announced, 1 MiB sent, then the peer hangs up.
  send_header(p.peer.get(), wire::Type::image, 200u << 20);
  std::vector<uint8_t> mib(1u << 20, 0xab);
  std::thread sender([&] {
    send_all(p.peer.get(), mib.data(), mib.size());
    ::shutdown(p.peer.get(), SHUT_WR);
  });
  std::vector<uint8_t> buf;
  auto r = p.conn.recv(buf);
  sender.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LMIG_ERR_CONNECTION_LOST);
  EXPECT_NE(r.error().message.find("in the middle of a message"), std::string::npos)
      << r.error().message;
  EXPECT_LE(buf.capacity(), 2u << 20) << "memory follows the bytes that came, not the header";
}

TEST(TcpConnection, LargeFramesArriveWholeAsTheBufferGrows) {
  Pair p = connected_pair();
  std::vector<uint8_t> big((5u << 20) + 123);
  for (size_t i = 0; i < big.size(); i++)
    big[i] = static_cast<uint8_t>(i * 7 + (i >> 13));
  std::vector<uint8_t> small(100, 0x11);
  std::thread sender([&] {
    send_header(p.peer.get(), wire::Type::image, static_cast<uint32_t>(big.size()));
    send_all(p.peer.get(), big.data(), big.size());
    send_header(p.peer.get(), wire::Type::tree, static_cast<uint32_t>(small.size()));
    send_all(p.peer.get(), small.data(), small.size());
    send_header(p.peer.get(), wire::Type::done, 0);
  });
  std::vector<uint8_t> buf;
  auto r = p.conn.recv(buf);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, wire::Type::image);
  EXPECT_TRUE(buf == big);
  r = p.conn.recv(buf);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, wire::Type::tree);
  EXPECT_EQ(buf, small);
  r = p.conn.recv(buf);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, wire::Type::done);
  EXPECT_TRUE(buf.empty());
  sender.join();
}

TEST(TcpConnection, RecvWithinBoundsTheWholeFrameNotEachWait) {
  Pair p = connected_pair();
  p.conn.set_io_timeout(3000);
  // A header, then one byte every 100 ms: never silent long, never done.
  send_header(p.peer.get(), wire::Type::hello, 100);
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    for (int i = 0; i < 30 && !stop; i++) {
      uint8_t b = 0;
      if (::send(p.peer.get(), &b, 1, MSG_NOSIGNAL) != 1)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::vector<uint8_t> buf;
  auto t0 = Clock::now();
  auto r = p.conn.recv_within(buf, 500, wire::kMaxHelloPayload);
  long took = ms_since(t0);
  stop = true;
  trickle.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LMIG_ERR_TIMEOUT);
  EXPECT_NE(r.error().message.find("no whole message within 500 ms"), std::string::npos)
      << r.error().message;
  EXPECT_GE(took, 450);
  EXPECT_LT(took, 1500);
}

TEST(TcpConnection, RecvWithinGivesUpOnSilence) {
  Pair p = connected_pair();
  std::vector<uint8_t> buf;
  auto t0 = Clock::now();
  auto r = p.conn.recv_within(buf, 300);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LMIG_ERR_TIMEOUT);
  EXPECT_GE(ms_since(t0), 250);
  EXPECT_LT(ms_since(t0), 1500);
}

} // namespace
} // namespace lmig
