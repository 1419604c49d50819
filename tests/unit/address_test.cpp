// parse_endpoint: "HOST:PORT" and "[V6]:PORT" as operators type them.
#include "transport/address.hpp"

#include <netinet/in.h>

#include <gtest/gtest.h>

#include <string>

namespace lmig {
namespace {

Endpoint parsed(const std::string &text) {
  auto r = parse_endpoint(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Endpoint{};
}

TEST(ParseEndpoint, Ipv4) {
  auto ep = parsed("127.0.0.1:7000");
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 7000);
}

TEST(ParseEndpoint, NameAndPortZero) {
  auto ep = parsed("localhost:0");
  EXPECT_EQ(ep.host, "localhost");
  EXPECT_EQ(ep.port, 0);
}

TEST(ParseEndpoint, BracketedIpv6) {
  auto ep = parsed("[::1]:80");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 80);
  ep = parsed("[fe80::1%eth0]:65535");
  EXPECT_EQ(ep.host, "fe80::1%eth0");
  EXPECT_EQ(ep.port, 65535);
}

TEST(ParseEndpoint, BoundaryPorts) {
  EXPECT_EQ(parsed("h:65535").port, 65535);
  EXPECT_EQ(parsed("h:00080").port, 80);
  EXPECT_EQ(parsed("a.b-c.example:1").host, "a.b-c.example");
}

TEST(ParseEndpoint, Rejects) {
  for (const char *text : {
           "noport", ":80", "host:", "host:70000", "::1:80", "[::1]80", "", ":", "[::1]",
           "[::1]:", "[]:80", "[::1:80", "host:65536", "host:-1", "host:+80", "host:8o",
           "host:80 ", "host: 80", "host:0x50", "host:99999999999999999999", "[::1]:70000",
       }) {
    auto r = parse_endpoint(text);
    EXPECT_FALSE(r.ok()) << "accepted '" << text << "' as " << (r.ok() ? r->str() : "");
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, LMIG_ERR_INVALID_ARGUMENT);
      EXPECT_NE(r.error().message.find(std::string("'") + text + "'"), std::string::npos)
          << r.error().message;
    }
  }
}

TEST(ParseEndpoint, MessagesSayWhatIsWrong) {
  auto r = parse_endpoint("::1:80");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("brackets"), std::string::npos) << r.error().message;
  r = parse_endpoint("host:70000");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("0 to 65535"), std::string::npos) << r.error().message;
  r = parse_endpoint(":80");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("empty host"), std::string::npos) << r.error().message;
}

TEST(Endpoint, StrRoundTrips) {
  for (const char *text : {"127.0.0.1:7000", "localhost:0", "[::1]:80", "[2001:db8::5]:443"}) {
    auto ep = parsed(text);
    EXPECT_EQ(ep.str(), text);
    auto again = parsed(ep.str());
    EXPECT_EQ(again.host, ep.host);
    EXPECT_EQ(again.port, ep.port);
  }
}

TEST(Resolve, NumericAddresses) {
  auto v4 = resolve(parsed("127.0.0.1:7000"), false);
  ASSERT_TRUE(v4.ok()) << v4.error().message;
  EXPECT_EQ(v4->family, AF_INET);
  ASSERT_EQ(v4->len, sizeof(sockaddr_in));
  const auto *sin = reinterpret_cast<const sockaddr_in *>(&v4->addr);
  EXPECT_EQ(ntohs(sin->sin_port), 7000);
  EXPECT_EQ(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);

  auto v6 = resolve(parsed("[::1]:80"), false);
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->family, AF_INET6);
  ASSERT_EQ(v6->len, sizeof(sockaddr_in6));
  const auto *sin6 = reinterpret_cast<const sockaddr_in6 *>(&v6->addr);
  EXPECT_EQ(ntohs(sin6->sin6_port), 80);
}

} // namespace
} // namespace lmig
