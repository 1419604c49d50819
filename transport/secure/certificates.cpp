#include "transport/secure/certificates.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include "engine/image/byte_codec.hpp"
#include "transport/secure/private_file.hpp"

namespace lmig {
namespace {

constexpr size_t kMaxKeyBytes = 64u << 10;
constexpr size_t kMaxCertBytes = 4u << 20; // a CA bundle (the system's is a few hundred KiB)

template <class T, void (*F)(T *)> struct Freer {
  void operator()(T *p) const { F(p); }
};
using Bio = std::unique_ptr<BIO, Freer<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Freer<X509, X509_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Freer<X509_STORE_CTX, X509_STORE_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Freer<EVP_MD_CTX, EVP_MD_CTX_free>>;

void free_stack(STACK_OF(X509) *s) { sk_X509_pop_free(s, X509_free); }
using Stack = std::unique_ptr<STACK_OF(X509), Freer<STACK_OF(X509), free_stack>>;

std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e)
    return "no reason given";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Error invalid(const std::string &what) { return make_error(LMIG_ERR_INVALID_ARGUMENT, what); }

// A piece's PEM text: from memory, or read from its file.
Result<std::string> pem_of(const std::string &file, const std::string &pem, const char *what,
                           bool secret) {
  if (!pem.empty())
    return pem;
  if (secret) {
    LMIG_ASSIGN_OR_RETURN(auto bytes, read_private_file(file, what, kMaxKeyBytes));
    return std::string(bytes.begin(), bytes.end());
  }
  Bio b(BIO_new_file(file.c_str(), "r"));
  if (!b)
    return sys_error(std::string("open the ") + what + " " + file);
  // All of it or an error: certificates cut short would be dropped in
  // silence (a CA bundle trusting fewer authorities than it names).
  std::string out;
  char buf[4096];
  int n;
  while ((n = BIO_read(b.get(), buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxCertBytes)
      return invalid(std::string(what) + " " + file + " is larger than " +
                     std::to_string(kMaxCertBytes >> 20) + " MiB");
  }
  if (n < 0)
    return make_error(LMIG_ERR_SYSTEM, std::string("read the ") + what + " " + file);
  return out;
}

Result<Stack> read_certs(const std::string &pem, const std::string &what) {
  Bio b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Stack s(sk_X509_new_null());
  while (X509 *x = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr))
    sk_X509_push(s.get(), x);
  ERR_clear_error(); // the end of the text reads as an error
  if (sk_X509_num(s.get()) == 0)
    return invalid(what + " holds no PEM certificate");
  return s;
}

std::string subject_of(X509 *x) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof buf);
  return buf;
}

// Ed25519 and Ed448 sign the message itself; other keys its SHA-256, RSA
// with PSS.
Result<MdCtx> digest_ctx(EVP_PKEY *key, bool signing) {
  MdCtx md(EVP_MD_CTX_new());
  EVP_PKEY_CTX *pctx = nullptr;
  const int id = EVP_PKEY_get_base_id(key);
  const EVP_MD *digest = (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? nullptr : EVP_sha256();
  int ok = signing ? EVP_DigestSignInit(md.get(), &pctx, digest, nullptr, key)
                   : EVP_DigestVerifyInit(md.get(), &pctx, digest, nullptr, key);
  if (ok == 1 && id == EVP_PKEY_RSA)
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  if (ok != 1)
    return make_error(LMIG_ERR_INTERNAL, "cannot use the key for a signature: " + openssl_reason());
  return md;
}

} // namespace

struct CertIdentity::Handles {
  X509Ptr cert;
  Stack extra;
  EVP_PKEY *key = nullptr;
  X509_STORE *store = nullptr;
  ~Handles() {
    EVP_PKEY_free(key);
    X509_STORE_free(store);
  }
};

bool CertSource::empty() const {
  return cert_file.empty() && key_file.empty() && ca_file.empty() && cert_pem.empty() &&
         key_pem.empty() && ca_pem.empty();
}

CertIdentity::CertIdentity() : h_(std::make_unique<Handles>()) {}
CertIdentity::~CertIdentity() = default;

Result<std::shared_ptr<const CertIdentity>> CertIdentity::load(const CertSource &src) {
  const bool has_cert = !src.cert_file.empty() || !src.cert_pem.empty();
  const bool has_key = !src.key_file.empty() || !src.key_pem.empty();
  const bool has_ca = !src.ca_file.empty() || !src.ca_pem.empty();
  if (!has_cert || !has_key || !has_ca)
    return invalid("a certificate, its key and a CA go together: give all three (--cert, --key, "
                   "--ca)");
  const std::string cert_name =
      src.cert_pem.empty() ? "certificate file " + src.cert_file : "the certificate";
  const std::string ca_name = src.ca_pem.empty() ? "CA file " + src.ca_file : "the CA";
  LMIG_ASSIGN_OR_RETURN(std::string cert_pem,
                        pem_of(src.cert_file, src.cert_pem, "certificate file", false));
  LMIG_ASSIGN_OR_RETURN(std::string key_pem, pem_of(src.key_file, src.key_pem, "key file", true));
  LMIG_ASSIGN_OR_RETURN(std::string ca_pem, pem_of(src.ca_file, src.ca_pem, "CA file", false));

  std::shared_ptr<CertIdentity> id(new CertIdentity());
  Handles &h = *id->h_;
  LMIG_ASSIGN_OR_RETURN(Stack certs, read_certs(cert_pem, cert_name));
  if (static_cast<size_t>(sk_X509_num(certs.get())) > kMaxChainCerts)
    return invalid(cert_name + " holds more than " + std::to_string(kMaxChainCerts) +
                   " certificates");
  h.cert.reset(sk_X509_shift(certs.get()));
  h.extra = std::move(certs);
  {
    Bio b(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
    h.key = PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr);
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    if (!h.key)
      return invalid((src.key_pem.empty() ? "key file " + src.key_file : std::string("the key")) +
                     " holds no unencrypted PEM private key: " + openssl_reason());
  }
  if (X509_check_private_key(h.cert.get(), h.key) != 1) {
    ERR_clear_error();
    return invalid("the key does not belong to " + cert_name + " (" + subject_of(h.cert.get()) +
                   ")");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(h.cert.get())) <= 0)
    return invalid(cert_name + " (" + subject_of(h.cert.get()) + ") has expired");
  LMIG_ASSIGN_OR_RETURN(Stack cas, read_certs(ca_pem, ca_name));
  h.store = X509_STORE_new();
  for (int i = 0; i < sk_X509_num(cas.get()); i++)
    if (X509_STORE_add_cert(h.store, sk_X509_value(cas.get(), i)) != 1)
      return invalid(ca_name + ": " + openssl_reason());

  ByteWriter w;
  auto put = [&](X509 *x) {
    unsigned char *der = nullptr;
    int n = i2d_X509(x, &der);
    w.u32(static_cast<uint32_t>(n > 0 ? n : 0));
    if (n > 0)
      w.raw(der, static_cast<size_t>(n));
    OPENSSL_free(der);
  };
  w.u32(static_cast<uint32_t>(1 + sk_X509_num(h.extra.get())));
  put(h.cert.get());
  for (int i = 0; i < sk_X509_num(h.extra.get()); i++)
    put(sk_X509_value(h.extra.get(), i));
  id->chain_ = w.take();
  id->subject_ = subject_of(h.cert.get());
  return std::shared_ptr<const CertIdentity>(std::move(id));
}

Result<std::vector<uint8_t>> CertIdentity::sign(std::span<const uint8_t> msg) const {
  LMIG_ASSIGN_OR_RETURN(MdCtx md, digest_ctx(h_->key, true));
  size_t len = 0;
  if (EVP_DigestSign(md.get(), nullptr, &len, msg.data(), msg.size()) != 1)
    return make_error(LMIG_ERR_INTERNAL, "signing the handshake failed: " + openssl_reason());
  std::vector<uint8_t> sig(len);
  if (EVP_DigestSign(md.get(), sig.data(), &len, msg.data(), msg.size()) != 1)
    return make_error(LMIG_ERR_INTERNAL, "signing the handshake failed: " + openssl_reason());
  sig.resize(len);
  return sig;
}

Result<std::string> CertIdentity::verify_peer(std::span<const uint8_t> chain,
                                              std::span<const uint8_t> msg,
                                              std::span<const uint8_t> sig, PeerEnd end,
                                              const std::string &name) const {
  const char *who = end == PeerEnd::target ? "the target's" : "the source's";
  auto refused = [&](const std::string &why) {
    return make_error(LMIG_ERR_INVALID_ARGUMENT, std::string("authentication failed: ") + who +
                                                     " certificate " + why);
  };
  ByteReader r(chain);
  const uint32_t count = r.u32();
  if (r.failed() || count == 0 || count > kMaxChainCerts)
    return refused("chain is malformed");
  Stack certs(sk_X509_new_null());
  for (uint32_t i = 0; i < count; i++) {
    const uint32_t len = r.u32();
    auto der = r.take(len);
    if (r.failed())
      return refused("chain is malformed");
    const unsigned char *p = der.data();
    X509 *x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (!x || p != der.data() + der.size()) {
      X509_free(x);
      ERR_clear_error();
      return refused("chain holds a malformed certificate");
    }
    sk_X509_push(certs.get(), x);
  }
  if (r.remaining())
    return refused("chain is malformed");
  X509Ptr leaf(sk_X509_shift(certs.get()));
  const std::string subject = subject_of(leaf.get());

  StoreCtx ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), h_->store, leaf.get(), certs.get()) != 1)
    return make_error(LMIG_ERR_INTERNAL, "certificate check: " + openssl_reason());
  X509_STORE_CTX_set_purpose(ctx.get(), end == PeerEnd::target ? X509_PURPOSE_SSL_SERVER
                                                               : X509_PURPOSE_SSL_CLIENT);
  X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx.get());
  if (!name.empty()) {
    unsigned char addr[16];
    const bool is_ip = inet_pton(AF_INET, name.c_str(), addr) == 1 ||
                       inet_pton(AF_INET6, name.c_str(), addr) == 1;
    if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
               : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size())) != 1)
      return invalid("cannot check a certificate for the name " + name);
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int e = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    std::string why = X509_verify_cert_error_string(e);
    if (e == X509_V_ERR_HOSTNAME_MISMATCH || e == X509_V_ERR_IP_ADDRESS_MISMATCH)
      why += " (it does not name " + name + "; lmig --peer-name says which name to expect)";
    return refused("(" + subject + ") is not accepted: " + why);
  }
  EVP_PKEY *pub = X509_get0_pubkey(leaf.get());
  if (!pub)
    return refused("(" + subject + ") carries no usable public key");
  LMIG_ASSIGN_OR_RETURN(MdCtx md, digest_ctx(pub, false));
  if (EVP_DigestVerify(md.get(), sig.data(), sig.size(), msg.data(), msg.size()) != 1) {
    ERR_clear_error();
    return refused("(" + subject + ") did not sign this handshake: its key is not held there");
  }
  return subject;
}

} // namespace lmig
