#include "mesh/security/x509.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mesh/security/digest.h"
#include "mesh/security/x509_internal.h"

namespace mesh {
namespace x509 {

std::string OpenSslError(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return what;
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return what + ": " + text;
}

BioPtr MemoryBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<KeyPtr> ReadKey(const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::InvalidArgument(OpenSslError("not a PEM private key"));
  return key;
}

Result<CertPtr> ReadCertificate(const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  CertPtr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Status::InvalidArgument(OpenSslError("not a PEM certificate"));
  return cert;
}

Result<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return Status::IOError(OpenSslError("cannot write private key"));
  }
  return BioText(bio.get());
}

Result<std::string> CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) return Status::IOError(OpenSslError("cannot write certificate"));
  return BioText(bio.get());
}

Result<KeyPtr> NewP256Key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Status::IOError(OpenSslError("cannot generate a P-256 key"));
  return key;
}

Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return Status::InvalidArgument(OpenSslError("bad extension " + value));
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!added) return Status::IOError(OpenSslError("cannot add extension " + value));
  return Status::Ok();
}

std::string FirstSpiffeUri(X509* cert) {
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return "";
  std::string found;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && found.empty(); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_STRING* uri = name->d.uniformResourceIdentifier;
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<size_t>(ASN1_STRING_length(uri)));
    if (text.rfind("spiffe://", 0) == 0) found = std::move(text);
  }
  GENERAL_NAMES_free(names);
  return found;
}

}  // namespace x509

namespace {

int64_t TimeNs(const ASN1_TIME* t) {
  struct tm parts {};
  if (ASN1_TIME_to_tm(t, &parts) != 1) return 0;
  return static_cast<int64_t>(timegm(&parts)) * 1'000'000'000;
}

}  // namespace

Result<std::string> GeneratePrivateKeyPem() {
  Result<x509::KeyPtr> key = x509::NewP256Key();
  if (!key.ok()) return key.status();
  return x509::KeyPem(key->get());
}

Result<std::string> MakeCsrPem(const std::string& key_pem, const std::string& common_name,
                               const std::string& spiffe_id) {
  Result<x509::KeyPtr> key = x509::ReadKey(key_pem);
  if (!key.ok()) return key.status();
  x509::CsrPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key->get());
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, ("URI:" + spiffe_id).c_str());
  if (san == nullptr) {
    sk_X509_EXTENSION_free(exts);
    return Status::InvalidArgument(x509::OpenSslError("bad SPIFFE ID " + spiffe_id));
  }
  sk_X509_EXTENSION_push(exts, san);
  X509_REQ_add_extensions(req.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (!X509_REQ_sign(req.get(), key->get(), EVP_sha256())) {
    return Status::IOError(x509::OpenSslError("cannot sign the CSR"));
  }
  x509::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509_REQ(bio.get(), req.get())) return Status::IOError(x509::OpenSslError("cannot write the CSR"));
  return x509::BioText(bio.get());
}

Result<CertificateInfo> InspectCertificate(const std::string& cert_pem) {
  Result<x509::CertPtr> cert = x509::ReadCertificate(cert_pem);
  if (!cert.ok()) return cert.status();
  CertificateInfo info;
  info.spiffe_id = x509::FirstSpiffeUri(cert->get());
  x509::BioPtr subject(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(subject.get(), X509_get_subject_name(cert->get()), 0, XN_FLAG_RFC2253);
  info.subject = x509::BioText(subject.get());
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->get()), nullptr);
  if (serial != nullptr) {
    char* hex = BN_bn2hex(serial);
    info.serial_hex = hex;
    OPENSSL_free(hex);
    BN_free(serial);
  }
  info.not_before_ns = TimeNs(X509_get0_notBefore(cert->get()));
  info.not_after_ns = TimeNs(X509_get0_notAfter(cert->get()));
  info.is_ca = X509_check_ca(cert->get()) != 0;
  return info;
}

Result<std::string> PublicKeyHash(const std::string& cert_pem) {
  Result<x509::CertPtr> cert = x509::ReadCertificate(cert_pem);
  if (!cert.ok()) return cert.status();
  unsigned char* der = nullptr;
  const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert->get()), &der);
  if (n <= 0) return Status::InvalidArgument(x509::OpenSslError("certificate without a public key"));
  std::string hash = "sha256:" + Sha256Hex(std::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(n)));
  OPENSSL_free(der);
  return hash;
}

Status VerifyCertificate(const std::string& cert_pem, const std::string& ca_pem, int64_t at_ns) {
  Result<x509::CertPtr> cert = x509::ReadCertificate(cert_pem);
  if (!cert.ok()) return cert.status();
  Result<x509::CertPtr> ca = x509::ReadCertificate(ca_pem);
  if (!ca.ok()) return ca.status().WithContext("CA");
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  X509_STORE_add_cert(store.get(), ca->get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr);
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at_ns / 1'000'000'000));
  if (X509_verify_cert(ctx.get()) != 1) {
    return Status::InvalidArgument(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  }
  return Status::Ok();
}

Status CheckKeyMatchesCertificate(const std::string& key_pem, const std::string& cert_pem) {
  Result<x509::KeyPtr> key = x509::ReadKey(key_pem);
  if (!key.ok()) return key.status();
  Result<x509::CertPtr> cert = x509::ReadCertificate(cert_pem);
  if (!cert.ok()) return cert.status();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("the private key does not match the certificate");
  }
  return Status::Ok();
}

Status WritePrivateFile(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot write " + temporary + ": " + std::strerror(errno));
  // O_CREAT's mode does not apply to a file that already existed.
  bool ok = ::fchmod(fd, 0600) == 0;
  for (size_t done = 0; ok && done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : saved_errno);
    ::unlink(temporary.c_str());
    return Status::IOError("cannot write " + path + ": " + why);
  }
  return Status::Ok();
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace mesh
