#include "tests/pki/test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

namespace lmig::test {
namespace {

EVP_PKEY *new_key(const std::string &type) {
  EVP_PKEY *k = type == "RSA"       ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", (size_t)2048)
                : type == "ED25519" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                    : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!k)
    throw std::runtime_error("test key generation failed");
  return k;
}

std::string pem_cert(X509 *x) {
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char *p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

std::string pem_key(EVP_PKEY *k) {
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char *p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

void add_ext(X509 *x, X509 *issuer, int nid, const std::string &value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION *e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!e)
    throw std::runtime_error("bad test extension " + value);
  X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
}

X509 *new_cert(const std::string &cn, EVP_PKEY *key, long from, long for_s) {
  static long serial = 1;
  X509 *x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), from);
  X509_gmtime_adj(X509_getm_notAfter(x), from + for_s);
  X509_set_pubkey(x, key);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char *>(cn.c_str()), -1, -1, 0);
  return x;
}

void sign(X509 *x, EVP_PKEY *key) {
  const int id = EVP_PKEY_get_base_id(key);
  if (!X509_sign(x, key, id == EVP_PKEY_ED25519 ? nullptr : EVP_sha256()))
    throw std::runtime_error("test certificate signing failed");
}

} // namespace

struct TestCa::Impl {
  EVP_PKEY *key = nullptr;
  X509 *cert = nullptr;
  ~Impl() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

TestCa::TestCa(const std::string &cn) : impl_(std::make_unique<Impl>()) {
  impl_->key = new_key("EC");
  impl_->cert = new_cert(cn, impl_->key, -3600, 10 * 86400);
  X509_set_issuer_name(impl_->cert, X509_get_subject_name(impl_->cert));
  add_ext(impl_->cert, impl_->cert, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(impl_->cert, impl_->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(impl_->cert, impl_->cert, NID_subject_key_identifier, "hash");
  sign(impl_->cert, impl_->key);
  pem_.cert = pem_cert(impl_->cert);
  pem_.key = pem_key(impl_->key);
}

TestCa::~TestCa() = default;

Pem TestCa::issue(const LeafSpec &spec) const {
  EVP_PKEY *key = new_key(spec.key_type);
  X509 *x = new_cert(spec.cn, key, spec.valid_from_s, spec.valid_for_s);
  X509_set_issuer_name(x, X509_get_subject_name(impl_->cert));
  add_ext(x, impl_->cert, NID_basic_constraints, "critical,CA:FALSE");
  std::string san;
  for (auto &d : spec.dns)
    san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (auto &i : spec.ips)
    san += (san.empty() ? "IP:" : ",IP:") + i;
  if (!san.empty())
    add_ext(x, impl_->cert, NID_subject_alt_name, san);
  std::string eku;
  if (spec.server)
    eku = "serverAuth";
  if (spec.client)
    eku += eku.empty() ? "clientAuth" : ",clientAuth";
  if (!eku.empty())
    add_ext(x, impl_->cert, NID_ext_key_usage, eku);
  add_ext(x, impl_->cert, NID_authority_key_identifier, "keyid");
  sign(x, impl_->key);
  Pem out{pem_cert(x), pem_key(key)};
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

void write_file(const std::string &path, const std::string &text, unsigned mode) {
  {
    std::ofstream f(path, std::ios::trunc);
    f << text;
  }
  ::chmod(path.c_str(), mode);
}

} // namespace lmig::test
