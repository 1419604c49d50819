// lmigd before any peer is authenticated: strangers that announce huge
// frames, say something wrong, stay silent in numbers, or put line breaks in
// their hello cost lmigd little, never end `--once`, and cannot forge its
// log; a real migration still goes through afterwards.
#include <gtest/gtest.h>

#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/api/server_limits.hpp"
#include "tests/integration/harness.hpp"
#include "transport/secure/handshake.hpp"
#include "transport/tcp_connection.hpp"
#include "transport/wire.hpp"

namespace lmig::test {
namespace {

long vm_rss_kib(pid_t pid) {
  std::string s = read_file("/proc/" + std::to_string(pid) + "/status");
  size_t at = s.find("VmRSS:");
  return at == std::string::npos ? -1 : std::stol(s.substr(at + 6));
}

size_t thread_count(pid_t pid) {
  size_t n = 0;
  DIR *d = ::opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
  if (!d)
    return 0;
  while (dirent *e = ::readdir(d))
    n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

Connection dial(const Lmigd &d) {
  auto c = Connection::connect(Endpoint{"127.0.0.1", d.port()}, 5000);
  if (!c.ok())
    throw std::runtime_error(c.error().message);
  c->set_io_timeout(10000);
  return std::move(c).value();
}

// A connection that has passed the handshake (with `key`, or none).
Connection secure_dial(const Lmigd &d, const std::vector<uint8_t> &key = {},
                       wire::Role role = wire::Role::control, uint64_t session = 0) {
  Connection c = dial(d);
  auto h = handshake_dial(c, key, role, session, false, 5000);
  if (!h.ok())
    throw std::runtime_error(h.error().message);
  c.set_crypto(h->crypto);
  return c;
}

// A hello this lmigd accepts, apart from what a test changes.
wire::Hello good_hello() {
  wire::Hello h;
  h.mode = LMIG_MODE_STOP_COPY;
  h.features = wire::kFeatureStopCopy;
  h.kernel = "6.18";
  h.host = "peer";
  return h;
}

void send_header(Connection &c, wire::Type type, uint32_t length) {
  wire::FrameHeader h{wire::kMagic, static_cast<uint16_t>(type), 0, length, 0};
  ASSERT_EQ(::send(c.fd(), &h, sizeof h, MSG_NOSIGNAL), static_cast<ssize_t>(sizeof h));
}

// What lmigd said before it hung up: its error message, or "" when it
// closed without one.
std::string answer(Connection &c) {
  std::vector<uint8_t> buf;
  auto t = c.recv(buf);
  if (!t.ok() || *t != wire::Type::error)
    return "";
  auto e = wire::decode_error(buf);
  return e.ok() ? e->message : "";
}

// True once lmigd has closed its end (EOF or reset), within timeout.
bool closed_by_lmigd(int fd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    char b[4096];
    ssize_t r = ::recv(fd, b, sizeof b, MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
      return true;
    if (r > 0)
      continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

size_t count(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    n++;
  return n;
}

// A real stop-copy migration of a small workload into d: lmig succeeds and
// the process verifies on the target.
void expect_a_real_migration(const Lmigd &d, std::vector<std::string> extra = {}) {
  Workload w({}, 4);
  std::vector<std::string> argv = {bin("LMIG"), "--stop-copy", std::to_string(w.pid()),
                                   d.address(), "--json"};
  for (auto &a : extra)
    argv.push_back(std::move(a));
  CmdResult r = run(argv);
  auto json = parse_json_object(r.out);
  pid_t target = json.count("target_pid") ? std::stoi(json["target_pid"]) : -1;
  ProcessGuard guard(target);
  ASSERT_EQ(r.exit_code, 0) << r.err << d.log();
  ASSERT_GT(target, 0) << r.out;
  w.reap_source();
  std::string v = w.check(target, 1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

TEST(PreAuth, HugeFramesBeforeTheHelloAreRefusedWithoutMemory) {
  Lmigd d;
  const long rss_before = vm_rss_kib(d.pid());
  ASSERT_GT(rss_before, 0);
  // Eight strangers at once, each announcing 200 MiB and sending 1 MiB of it.
  std::vector<Connection> conns;
  for (int i = 0; i < 8; i++) {
    conns.push_back(dial(d));
    send_header(conns.back(), i % 2 ? wire::Type::hello : wire::Type::image, 200u << 20);
  }
  std::vector<char> mib(1u << 20, 'x');
  for (auto &c : conns) {
    size_t sent = 0;
    while (sent < mib.size()) {
      ssize_t w = ::send(c.fd(), mib.data() + sent, mib.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        sent += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EAGAIN) { // lmigd is not reading (or not yet)
        pollfd p{c.fd(), POLLOUT, 0};
        if (::poll(&p, 1, 200) > 0)
          continue;
      }
      break; // lmigd stopped reading or hung up: it refused us
    }
  }
  // Refused from the header alone: lmigd hangs up on each at once.
  for (auto &c : conns)
    EXPECT_TRUE(closed_by_lmigd(c.fd(), std::chrono::seconds(3)));
  const long rss_after = vm_rss_kib(d.pid());
  EXPECT_LT(rss_after - rss_before, 16 * 1024)
      << "lmigd grew from " << rss_before << " KiB to " << rss_after << " KiB";
  EXPECT_EQ(count(d.log(), "announced a frame of 209715200 bytes (limit " +
                               std::to_string(wire::kMaxHelloPayload) + " here)"),
            8u)
      << d.log();
  EXPECT_TRUE(alive(d.pid()));
}

TEST(PreAuth, FailedHandshakesNeverEndOnce) {
  TempDir keys;
  const std::string psk = keys.file("psk");
  const std::string key_text = "Vq7m1c2JXo0q8bYQ2mS3kJ1uQm0n5Z4b";
  std::ofstream(psk) << key_text << "\n";
  ::chmod(psk.c_str(), 0600);
  const std::vector<uint8_t> key(key_text.begin(), key_text.end());
  Lmigd d({"--once", "--psk-file", psk});
  // lmigd has had time to act on what it was told (and to exit, were it
  // counting this as its one migration).
  auto survives = [&](const char *what) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return alive(d.pid()) ? ::testing::AssertionSuccess()
                          : ::testing::AssertionFailure()
                                << "lmigd --once ended after " << what << "\n" << d.log();
  };
  {
    Connection c = dial(d); // connects and hangs up at once
  }
  ASSERT_TRUE(survives("an immediate close"));
  {
    Connection c = dial(d);
    const char junk[] = "GET / HTTP/1.1\r\nHost: lmigd\r\n\r\n";
    ASSERT_GT(::send(c.fd(), junk, sizeof junk - 1, MSG_NOSIGNAL), 0);
    EXPECT_NE(answer(c).find("does not speak the lmig protocol"), std::string::npos) << d.log();
  }
  ASSERT_TRUE(survives("garbage"));
  {
    Connection c = dial(d); // something other than the handshake first
    ASSERT_TRUE(c.send(wire::Type::image, std::vector<uint8_t>(64, 1)).ok());
    EXPECT_NE(answer(c).find("sent image during the handshake"), std::string::npos) << d.log();
  }
  ASSERT_TRUE(survives("a frame other than the handshake"));
  {
    Connection c = dial(d); // half a handshake, then gone
    send_header(c, wire::Type::auth_init, 100);
    ASSERT_EQ(::send(c.fd(), "0123456789", 10, MSG_NOSIGNAL), 10);
  }
  ASSERT_TRUE(survives("half a handshake"));
  {
    Connection c = dial(d); // a handshake that does not decode
    ASSERT_TRUE(c.send(wire::Type::auth_init, std::vector<uint8_t>(40, 0xff)).ok());
    EXPECT_NE(answer(c).find("malformed handshake"), std::string::npos) << d.log();
  }
  ASSERT_TRUE(survives("a malformed handshake"));
  {
    Connection c = dial(d); // another key: our side finds out, and says so
    const std::vector<uint8_t> wrong(32, 0x41);
    EXPECT_FALSE(handshake_dial(c, wrong, wire::Role::control, 0, false, 5000).ok());
  }
  ASSERT_TRUE(survives("a wrong key"));
  {
    Connection c = dial(d); // no key at all
    auto h = handshake_dial(c, {}, wire::Role::control, 0, false, 5000);
    ASSERT_FALSE(h.ok());
    EXPECT_NE(h.error().message.find("takes only sources that prove"), std::string::npos)
        << h.error().message;
  }
  ASSERT_TRUE(survives("no key"));
  {
    Connection c = secure_dial(d, key); // the key, then a hello that does not decode
    ASSERT_TRUE(c.send(wire::Type::hello, std::vector<uint8_t>(40, 0xff)).ok());
    EXPECT_NE(answer(c).find("malformed hello"), std::string::npos) << d.log();
  }
  ASSERT_TRUE(survives("a malformed hello"));
  {
    Connection c = secure_dial(d, key);
    wire::Hello h = good_hello();
    h.version = 999;
    ASSERT_TRUE(c.send(wire::Type::hello, wire::encode(h)).ok());
    EXPECT_NE(answer(c).find("protocol version 999"), std::string::npos) << d.log();
  }
  ASSERT_TRUE(survives("a wrong version"));
  {
    Connection c = dial(d); // a bulk channel for a session nobody opened
    auto h = handshake_dial(c, key, wire::Role::bulk, 0x1234, false, 5000);
    ASSERT_FALSE(h.ok());
    EXPECT_NE(h.error().message.find("no migration in progress"), std::string::npos)
        << h.error().message;
  }
  ASSERT_TRUE(survives("an unknown session"));
  EXPECT_GE(count(d.log(), "connection refused"), 6u) << d.log();
  EXPECT_GE(count(d.log(), "hello refused"), 2u) << d.log();

  expect_a_real_migration(d, {"--psk-file", psk});
  EXPECT_TRUE(wait_for([&] { return !alive(d.pid()); }, std::chrono::seconds(5)))
      << "lmigd --once should exit after the real migration\n"
      << d.log();
}

TEST(PreAuth, IdleConnectionsDoNotPinThreads) {
  Lmigd d;
  const size_t threads_before = thread_count(d.pid());
  ASSERT_GT(threads_before, 0u);
  std::vector<Connection> idle;
  for (int i = 0; i < 200; i++)
    idle.push_back(dial(d));
  // lmigd has taken all of them: those over the cap were closed at once.
  size_t closed = 0;
  EXPECT_TRUE(wait_for(
      [&] {
        closed = 0;
        for (auto &c : idle)
          closed += closed_by_lmigd(c.fd(), std::chrono::milliseconds(0));
        return closed >= 200 - kMaxGreetings;
      },
      std::chrono::seconds(3)))
      << closed << " closed\n" << d.log();
  const size_t threads_busy = thread_count(d.pid());
  EXPECT_LE(threads_busy, threads_before + kMaxGreetings);
  EXPECT_GE(threads_busy, threads_before + kMaxGreetings / 2) << "the others are greeted";
  const std::string log = d.log();
  EXPECT_NE(log.find("too many connections are being greeted (limit " +
                     std::to_string(kMaxGreetings) + ")"),
            std::string::npos)
      << log;
  EXPECT_LE(count(log, "closed at once"), 5u) << "a warning a second, not one each\n" << log;

  // The silent ones are let go after the hello's time, without our help.
  for (auto &c : idle)
    EXPECT_TRUE(closed_by_lmigd(c.fd(), std::chrono::milliseconds(kHelloTimeoutMs + 3000)));
  EXPECT_TRUE(wait_for([&] { return thread_count(d.pid()) <= threads_before; },
                       std::chrono::seconds(3)))
      << thread_count(d.pid()) << " threads, " << threads_before << " before";
  EXPECT_NE(d.log().find("sent no whole message within " + std::to_string(kHelloTimeoutMs) + " ms"),
            std::string::npos)
      << d.log();
  expect_a_real_migration(d);
}

TEST(PreAuth, PeerTextIsEscapedInTheLog) {
  Lmigd d;
  const std::string forged = "lmigd 00:00:00.000 info: migration of PID 1 complete";
  Connection c = secure_dial(d);
  wire::Hello h = good_hello();
  h.host = "evil\n" + forged + "\x1b[2J\r";
  h.kernel = "6.18\tx\x01";
  ASSERT_TRUE(c.send(wire::Type::hello, wire::encode(h)).ok());
  std::vector<uint8_t> buf;
  auto t = c.recv(buf);
  ASSERT_TRUE(t.ok()) << t.error().message << d.log();
  ASSERT_EQ(*t, wire::Type::hello_ack);
  // The migration has begun; the source gives up with a message of its own.
  wire::ErrorMsg e{LMIG_ERR_CANCELLED, 0, "gave up\n" + forged + "\x07"};
  ASSERT_TRUE(c.send(wire::Type::error, wire::encode(e)).ok());
  ASSERT_TRUE(wait_for([&] { return d.log().find("migration failed") != std::string::npos; },
                       std::chrono::seconds(10)))
      << d.log();
  const std::string log = d.log();
  EXPECT_NE(log.find("hello from evil\\n" + forged + "\\x1b[2J\\r (kernel 6.18\\tx\\x01)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("source: gave up\\n" + forged + "\\x07"), std::string::npos) << log;
  // No line of the log begins with what the peer wrote.
  EXPECT_EQ(log.find("\n" + forged), std::string::npos) << log;
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << log;
  EXPECT_TRUE(alive(d.pid()));
}

} // namespace
} // namespace lmig::test
