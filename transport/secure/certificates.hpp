// A host's X.509 identity for the handshake's certificate mode: its
// certificate (with any intermediates) and private key, which sign the
// handshake, and the authority (CA) a peer's certificate must chain to.
// The source checks that the target's certificate is fit for a server and
// names the host it dialled; the target that the source's is fit for a
// client. Both come from the operator's PKI: lmig pins nothing else.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/base/error.hpp"

namespace lmig {

// Where each piece comes from: a file (the key's readable by its owner
// only), or PEM text in memory (the C API). All three pieces, or none.
struct CertSource {
  std::string cert_file, key_file, ca_file;
  std::string cert_pem, key_pem, ca_pem;
  bool empty() const;
};

// Which end the peer is: what its certificate must be fit for.
enum class PeerEnd { target, source };

class CertIdentity {
public:
  // Loads and checks the pieces: the key matches the certificate, which has
  // not expired, and the CA holds at least one certificate.
  static Result<std::shared_ptr<const CertIdentity>> load(const CertSource &src);
  ~CertIdentity();
  CertIdentity(const CertIdentity &) = delete;
  CertIdentity &operator=(const CertIdentity &) = delete;

  // This host's chain as the handshake carries it.
  const std::vector<uint8_t> &chain() const { return chain_; }
  const std::string &subject() const { return subject_; }
  Result<std::vector<uint8_t>> sign(std::span<const uint8_t> msg) const;

  // Checks that `chain` (as chain() encodes it) leads to the CA, is fit for
  // `end`, names `name` when it is not empty (a DNS name or an IP address),
  // and that `sig` signs `msg` with its key. Returns the peer's subject.
  Result<std::string> verify_peer(std::span<const uint8_t> chain, std::span<const uint8_t> msg,
                                  std::span<const uint8_t> sig, PeerEnd end,
                                  const std::string &name) const;

  struct Handles;

private:
  CertIdentity();
  std::unique_ptr<Handles> h_;
  std::vector<uint8_t> chain_;
  std::string subject_;
};

// What the handshake of a control connection proves with certificates.
struct CertAuth {
  std::shared_ptr<const CertIdentity> identity; // null: no certificate mode
  std::string peer_name; // the dialler: the name the target's certificate must carry
};

inline constexpr size_t kMaxChainCerts = 4;

} // namespace lmig
