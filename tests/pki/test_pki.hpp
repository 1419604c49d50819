// A throwaway certificate authority for tests: makes a CA and certificates
// it signs (names, purposes, validity chosen by the test), as PEM text.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace lmig::test {

struct Pem {
  std::string cert, key;
};

struct LeafSpec {
  std::string cn;
  std::vector<std::string> dns, ips; // subjectAltName entries
  bool server = true, client = true; // extendedKeyUsage
  long valid_from_s = -60;           // relative to now
  long valid_for_s = 86400;
  std::string key_type = "EC"; // "EC" (P-256), "ED25519" or "RSA" (2048)
};

class TestCa {
public:
  explicit TestCa(const std::string &cn);
  ~TestCa();
  const std::string &cert_pem() const { return pem_.cert; }
  Pem issue(const LeafSpec &spec) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Pem pem_;
};

// Writes `text` to `path` with `mode`.
void write_file(const std::string &path, const std::string &text, unsigned mode);

} // namespace lmig::test
