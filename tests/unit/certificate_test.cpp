// Certificate mode of the handshake: loading a host's identity (files and
// PEM in memory, and what is refused), and handshakes between ends whose
// certificates are good, from another CA, for another name or purpose,
// expired, or missing on one side.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "tests/pki/test_pki.hpp"
#include "tests/unit/handshake_pair.hpp"
#include "tests/unit/scratch_dir.hpp"
#include "transport/secure/certificates.hpp"

namespace lmig {
namespace {

using test::LeafSpec;
using test::Outcome;
using test::Pair;
using test::TestCa;

test::LeafSpec host(const std::string &cn) {
  LeafSpec s;
  s.cn = cn;
  s.dns = {cn};
  s.ips = {"127.0.0.1"};
  return s;
}

std::shared_ptr<const CertIdentity> identity(const TestCa &issuer, const TestCa &trusted,
                                             const LeafSpec &spec) {
  test::Pem p = issuer.issue(spec);
  CertSource src;
  src.cert_pem = p.cert;
  src.key_pem = p.key;
  src.ca_pem = trusted.cert_pem();
  auto id = CertIdentity::load(src);
  EXPECT_TRUE(id.ok()) << id.error().message;
  return id.ok() ? *id : nullptr;
}

Outcome shake_certs(const CertAuth &source, const CertAuth &target) {
  Pair p;
  return test::shake(p, {}, test::fixed({}), wire::Role::control, 0, source, target);
}

struct Hosts {
  TestCa ca{"lmig test CA"};
  CertAuth source{identity(ca, ca, host("source.test")), "target.test"};
  CertAuth target{identity(ca, ca, host("target.test")), ""};
};

TEST(Certificates, BothEndsProveTheirCertificatesAndLearnTheOther) {
  Hosts h;
  Outcome o = shake_certs(h.source, h.target);
  ASSERT_TRUE(o.dialled.ok()) << o.dialled.error().message;
  ASSERT_TRUE(o.accepted.ok()) << o.accepted.error().message;
  EXPECT_TRUE(o.dialled->authenticated);
  EXPECT_TRUE(o.accepted->authenticated);
  EXPECT_NE(o.dialled->peer_subject.find("CN=target.test"), std::string::npos)
      << o.dialled->peer_subject;
  EXPECT_NE(o.accepted->peer_subject.find("CN=source.test"), std::string::npos)
      << o.accepted->peer_subject;
  EXPECT_EQ(o.dialled->session_secret, o.accepted->session_secret);
}

TEST(Certificates, AnIpAddressNameIsCheckedAgainstTheCertificatesAddresses) {
  Hosts h;
  h.source.peer_name = "127.0.0.1";
  Outcome o = shake_certs(h.source, h.target);
  ASSERT_TRUE(o.dialled.ok()) << o.dialled.error().message;
  h.source.peer_name = "127.0.0.2";
  o = shake_certs(h.source, h.target);
  ASSERT_FALSE(o.dialled.ok());
  EXPECT_NE(o.dialled.error().message.find("does not name 127.0.0.2"), std::string::npos)
      << o.dialled.error().message;
}

TEST(Certificates, TheSourceRefusesATargetWithAnotherName) {
  Hosts h;
  h.source.peer_name = "elsewhere.test";
  Outcome o = shake_certs(h.source, h.target);
  ASSERT_FALSE(o.dialled.ok());
  EXPECT_NE(o.dialled.error().message.find("does not name elsewhere.test"), std::string::npos)
      << o.dialled.error().message;
  EXPECT_FALSE(o.accepted.ok()) << "the target learns it was refused";
}

TEST(Certificates, ACertificateFromAnotherCaIsRefusedOnEitherSide) {
  Hosts h;
  TestCa rogue("rogue CA");
  CertAuth rogue_target{identity(rogue, h.ca, host("target.test")), ""};
  Outcome o = shake_certs(h.source, rogue_target);
  ASSERT_FALSE(o.dialled.ok());
  EXPECT_NE(o.dialled.error().message.find("the target's certificate"), std::string::npos)
      << o.dialled.error().message;
  EXPECT_NE(o.dialled.error().message.find("unable to get local issuer"), std::string::npos)
      << o.dialled.error().message;

  CertAuth rogue_source{identity(rogue, h.ca, host("source.test")), "target.test"};
  Pair p;
  o = test::shake(p, {}, test::fixed({}), wire::Role::control, 0, rogue_source, h.target);
  ASSERT_FALSE(o.accepted.ok());
  EXPECT_NE(o.accepted.error().message.find("the source's certificate"), std::string::npos)
      << o.accepted.error().message;
  // The source's side of the handshake is over when the target checks its
  // certificate: it learns why from the next frame, sealed.
  ASSERT_TRUE(o.dialled.ok()) << o.dialled.error().message;
  p.dialler.set_crypto(o.dialled->crypto);
  test::Bytes buf;
  auto t = p.dialler.recv(buf);
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(*t, wire::Type::error);
  auto em = wire::decode_error(buf);
  ASSERT_TRUE(em.ok());
  EXPECT_NE(em->message.find("the source's certificate"), std::string::npos) << em->message;
}

TEST(Certificates, APurposeTheCertificateLacksIsRefused) {
  Hosts h;
  LeafSpec client_only = host("target.test");
  client_only.server = false;
  CertAuth target{identity(h.ca, h.ca, client_only), ""};
  Outcome o = shake_certs(h.source, target);
  ASSERT_FALSE(o.dialled.ok());
  EXPECT_NE(o.dialled.error().message.find("unsuitable certificate purpose"), std::string::npos)
      << o.dialled.error().message;
}

TEST(Certificates, AnExpiredPeerCertificateIsRefused) {
  Hosts h;
  LeafSpec old = host("source.test");
  old.valid_from_s = -7200;
  old.valid_for_s = 3600;
  test::Pem p = h.ca.issue(old);
  // It cannot be loaded as one's own...
  CertSource src{"", "", "", p.cert, p.key, h.ca.cert_pem()};
  auto id = CertIdentity::load(src);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().message.find("has expired"), std::string::npos) << id.error().message;
}

TEST(Certificates, OneSideWithoutCertificatesIsRefusedByName) {
  Hosts h;
  Outcome o = shake_certs({}, h.target);
  ASSERT_FALSE(o.dialled.ok());
  EXPECT_NE(o.dialled.error().message.find("showed no certificate"), std::string::npos)
      << o.dialled.error().message;
  o = shake_certs(h.source, {});
  ASSERT_FALSE(o.dialled.ok());
  EXPECT_NE(o.dialled.error().message.find("the target showed no certificate"), std::string::npos)
      << o.dialled.error().message;
}

TEST(Certificates, CertificatesAndAPreSharedKeyAreBothRequiredWhenBothAreGiven) {
  Hosts h;
  const test::Bytes psk = test::bytes("0123456789abcdef0123456789abcdef");
  Pair p;
  Outcome o = test::shake(p, psk, test::fixed(psk), wire::Role::control, 0, h.source, h.target);
  ASSERT_TRUE(o.dialled.ok()) << o.dialled.error().message;
  Pair q;
  o = test::shake(q, test::bytes("another key, thirty-two bytes!!!"), test::fixed(psk),
                  wire::Role::control, 0, h.source, h.target);
  EXPECT_FALSE(o.dialled.ok());
  EXPECT_FALSE(o.accepted.ok());
}

TEST(Certificates, ChannelsProveTheSessionSecretNotCertificates) {
  Hosts h;
  const test::Bytes secret = test::bytes("a session secret of 32 bytes....");
  Pair p;
  Outcome o = test::shake(p, secret, test::fixed(secret), wire::Role::bulk, 7, h.source, h.target);
  ASSERT_TRUE(o.dialled.ok()) << o.dialled.error().message;
  EXPECT_TRUE(o.dialled->peer_subject.empty());
}

TEST(Certificates, EveryKeyTypeSigns) {
  for (const char *type : {"EC", "ED25519", "RSA"}) {
    TestCa ca("CA");
    LeafSpec s = host("source.test"), t = host("target.test");
    s.key_type = t.key_type = type;
    CertAuth source{identity(ca, ca, s), "target.test"}, target{identity(ca, ca, t), ""};
    Outcome o = shake_certs(source, target);
    EXPECT_TRUE(o.dialled.ok()) << type << ": " << o.dialled.error().message;
    EXPECT_TRUE(o.accepted.ok()) << type << ": " << o.accepted.error().message;
  }
}

TEST(CertificateFiles, TheKeyFileMustBePrivateAndMatchTheCertificate) {
  test::TempDir dir;
  TestCa ca("CA");
  test::Pem a = ca.issue(host("a.test")), b = ca.issue(host("b.test"));
  test::write_file(dir.file("a.crt"), a.cert, 0644);
  test::write_file(dir.file("a.key"), a.key, 0644);
  test::write_file(dir.file("b.key"), b.key, 0600);
  test::write_file(dir.file("ca.crt"), ca.cert_pem(), 0644);
  CertSource src{dir.file("a.crt"), dir.file("a.key"), dir.file("ca.crt"), "", "", ""};
  auto id = CertIdentity::load(src);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().message.find("chmod 600"), std::string::npos) << id.error().message;
  ::chmod(dir.file("a.key").c_str(), 0600);
  id = CertIdentity::load(src);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_NE((*id)->subject().find("CN=a.test"), std::string::npos);

  src.key_file = dir.file("b.key");
  id = CertIdentity::load(src);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().message.find("does not belong to"), std::string::npos)
      << id.error().message;

  src.key_file = dir.file("a.key");
  src.ca_file = dir.file("a.key"); // no certificate in it
  id = CertIdentity::load(src);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().message.find("holds no PEM certificate"), std::string::npos)
      << id.error().message;

  // A CA file too large to read whole is refused, not cut short.
  test::write_file(dir.file("huge.crt"), std::string((4u << 20) + 1, 'A'), 0644);
  src.ca_file = dir.file("huge.crt");
  id = CertIdentity::load(src);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().message.find("is larger than 4 MiB"), std::string::npos)
      << id.error().message;

  src.ca_file = dir.file("missing.crt");
  id = CertIdentity::load(src);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().message.find("missing.crt"), std::string::npos) << id.error().message;

  CertSource partial{dir.file("a.crt"), "", "", "", "", ""};
  id = CertIdentity::load(partial);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().message.find("give all three"), std::string::npos) << id.error().message;
}

} // namespace
} // namespace lmig
