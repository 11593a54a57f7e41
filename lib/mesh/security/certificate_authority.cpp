#include "mesh/security/certificate_authority.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "mesh/security/x509.h"
#include "mesh/security/x509_internal.h"

namespace mesh {
namespace {

constexpr int64_t kSkewNs = 3600LL * 1'000'000'000;
// Workload certificates are short-lived by design; a year is where "short" clearly ends.
constexpr int64_t kMaxValidityNs = 366LL * 24 * 3600 * 1'000'000'000;

Status SetValidity(X509* cert, int64_t not_before_ns, int64_t not_after_ns) {
  if (!ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(not_before_ns / 1'000'000'000)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(not_after_ns / 1'000'000'000))) {
    return Status::InvalidArgument(x509::OpenSslError("cannot set validity"));
  }
  return Status::Ok();
}

// 126 random bits: serial numbers must be unique per CA and unpredictable. The first byte's top
// bit is cleared (a positive number) and the next one set, so that every serial is 16 bytes long
// (32 hex digits); a leading zero byte would otherwise shorten one in 256.
Status SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return Status::IOError(x509::OpenSslError("no randomness"));
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x40);
  BIGNUM* bn = BN_bin2bn(bytes, sizeof(bytes), nullptr);
  const bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  if (!ok) return Status::IOError(x509::OpenSslError("cannot set serial"));
  return Status::Ok();
}

Status SetCommonName(X509_NAME* name, const std::string& cn) {
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()),
                                  -1, -1, 0)) {
    return Status::InvalidArgument(x509::OpenSslError("bad common name"));
  }
  return Status::Ok();
}

Status CheckWorkloadKey(EVP_PKEY* key) {
  const int type = EVP_PKEY_get_base_id(key);
  if (type == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &len);
    if (std::string(group) == "prime256v1" || std::string(group) == "secp384r1") return Status::Ok();
    return Status::InvalidArgument(std::string("EC key on curve '") + group + "': use P-256 or P-384");
  }
  if (type == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= 2048) return Status::Ok();
  return Status::InvalidArgument("the CSR's key must be EC P-256/P-384 or RSA of 2048 bits or more");
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<CertificateAuthority> CertificateAuthority::Create(const std::string& trust_domain, int64_t now_ns) {
  if (Status s = ValidateTrustDomain(trust_domain); !s.ok()) return s;
  Result<x509::KeyPtr> key = x509::NewP256Key();
  if (!key.ok()) return key.status();
  x509::CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  if (Status s = SetRandomSerial(cert.get()); !s.ok()) return s;
  if (Status s = SetValidity(cert.get(), now_ns - kSkewNs, now_ns + kCaValidityNs); !s.ok()) return s;
  if (Status s = SetCommonName(X509_get_subject_name(cert.get()), "mesh CA " + trust_domain); !s.ok()) return s;
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509_set_pubkey(cert.get(), key->get());
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                   std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                                   std::pair{NID_subject_key_identifier, "hash"}}) {
    if (Status s = x509::AddExtension(cert.get(), cert.get(), nid, value); !s.ok()) return s;
  }
  if (Status s = x509::AddExtension(cert.get(), cert.get(), NID_subject_alt_name, "URI:spiffe://" + trust_domain);
      !s.ok()) {
    return s;
  }
  if (!X509_sign(cert.get(), key->get(), EVP_sha256())) return Status::IOError(x509::OpenSslError("cannot sign"));
  Result<std::string> cert_pem = x509::CertificatePem(cert.get());
  if (!cert_pem.ok()) return cert_pem.status();
  Result<std::string> key_pem = x509::KeyPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  return CertificateAuthority(trust_domain, std::move(cert_pem).value(), std::move(key_pem).value());
}

Result<CertificateAuthority> CertificateAuthority::FromPem(const std::string& trust_domain,
                                                           const std::string& cert_pem,
                                                           const std::string& key_pem) {
  if (Status s = ValidateTrustDomain(trust_domain); !s.ok()) return s;
  Result<CertificateInfo> info = InspectCertificate(cert_pem);
  if (!info.ok()) return info.status().WithContext("CA certificate");
  if (!info->is_ca) return Status::InvalidArgument("the certificate is not a CA certificate (basicConstraints CA:TRUE)");
  if (Status s = CheckKeyMatchesCertificate(key_pem, cert_pem); !s.ok()) return s.WithContext("CA key");
  return CertificateAuthority(trust_domain, cert_pem, key_pem);
}

Result<CertificateAuthority> CertificateAuthority::LoadOrCreate(const std::string& dir,
                                                                const std::string& trust_domain,
                                                                int64_t now_ns) {
  const std::string cert_path = dir + "/ca.crt";
  const std::string key_path = dir + "/ca.key";
  if (!Exists(cert_path) && !Exists(key_path)) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
    Result<CertificateAuthority> created = Create(trust_domain, now_ns);
    if (!created.ok()) return created;
    if (Status s = WritePrivateFile(key_path, created->key_pem_); !s.ok()) return s;
    if (Status s = WritePrivateFile(cert_path, created->cert_pem_); !s.ok()) return s;
    ::chmod(cert_path.c_str(), 0644);  // the CA certificate is public
    return created;
  }
  struct stat st;
  if (::stat(key_path.c_str(), &st) != 0) return Status::IOError("cannot read " + key_path + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0) {
    return Status::InvalidArgument("CA key " + key_path + " is readable by group or others (chmod 600 " + key_path + ")");
  }
  Result<std::string> cert_pem = ReadWholeFile(cert_path);
  if (!cert_pem.ok()) return cert_pem.status();
  Result<std::string> key_pem = ReadWholeFile(key_path);
  if (!key_pem.ok()) return key_pem.status();
  return FromPem(trust_domain, *cert_pem, *key_pem);
}

Status CertificateAuthority::Import(const std::string& dir, const std::string& cert_path,
                                    const std::string& key_path) {
  Result<std::string> cert_pem = ReadWholeFile(cert_path);
  if (!cert_pem.ok()) return cert_pem.status();
  Result<std::string> key_pem = ReadWholeFile(key_path);
  if (!key_pem.ok()) return key_pem.status();
  // The trust domain is not part of the CA; any valid one checks the pair.
  Result<CertificateAuthority> ca = FromPem("import.check", *cert_pem, *key_pem);
  if (!ca.ok()) return ca.status();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  if (Status s = WritePrivateFile(dir + "/ca.key", *key_pem); !s.ok()) return s;
  if (Status s = WritePrivateFile(dir + "/ca.crt", *cert_pem); !s.ok()) return s;
  ::chmod((dir + "/ca.crt").c_str(), 0644);
  return Status::Ok();
}

Result<std::string> CertificateAuthority::Issue(const IssueRequest& request) const {
  if (Status s = ValidateServiceName(request.service); !s.ok()) return s;
  if (request.not_after_ns <= request.not_before_ns) {
    return Status::InvalidArgument("the certificate must end after it starts");
  }
  if (request.not_after_ns - request.not_before_ns > kMaxValidityNs) {
    return Status::InvalidArgument("a workload certificate may be valid for at most 366 days");
  }
  x509::BioPtr bio = x509::MemoryBio(request.csr_pem);
  x509::CsrPtr csr(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!csr) return Status::InvalidArgument(x509::OpenSslError("not a PEM certificate signing request"));
  x509::KeyPtr public_key(X509_REQ_get_pubkey(csr.get()));
  if (!public_key) return Status::InvalidArgument(x509::OpenSslError("the CSR has no public key"));
  if (X509_REQ_verify(csr.get(), public_key.get()) != 1) {
    return Status::InvalidArgument(x509::OpenSslError("the CSR's signature does not verify"));
  }
  if (Status s = CheckWorkloadKey(public_key.get()); !s.ok()) return s;

  return SignLeaf(public_key.get(), request.service, "URI:" + FormatSpiffeId({trust_domain_, request.service}),
                  "serverAuth,clientAuth", request.not_before_ns, request.not_after_ns);
}

Result<std::string> CertificateAuthority::IssueServer(const ServerRequest& request) const {
  if (request.hosts.empty()) return Status::InvalidArgument("a server certificate needs at least one host name or address");
  if (request.not_after_ns <= request.not_before_ns || request.not_after_ns - request.not_before_ns > kMaxValidityNs) {
    return Status::InvalidArgument("a server certificate must end after it starts, within 366 days");
  }
  std::string san;
  for (const std::string& host : request.hosts) {
    // OpenSSL's config syntax would read a ',' as the next name: a host is one name.
    if (host.empty() || host.find_first_of(",\r\n\0 ", 0, 5) != std::string::npos) {
      return Status::InvalidArgument("bad TLS host name '" + host + "'");
    }
    const bool address = host.find(':') != std::string::npos || host.find_first_not_of("0123456789.") == std::string::npos;
    san += (san.empty() ? "" : ",") + std::string(address ? "IP:" : "DNS:") + host;
  }
  Result<x509::KeyPtr> key = x509::ReadKey(request.key_pem);
  if (!key.ok()) return key.status();
  return SignLeaf(key->get(), request.hosts.front(), san, "serverAuth", request.not_before_ns, request.not_after_ns);
}

Result<std::string> CertificateAuthority::SignLeaf(EVP_PKEY* public_key, const std::string& common_name,
                                                   const std::string& subject_alt_name, const std::string& key_usage,
                                                   int64_t not_before_ns, int64_t not_after_ns) const {
  Result<x509::CertPtr> ca_cert = x509::ReadCertificate(cert_pem_);
  if (!ca_cert.ok()) return ca_cert.status();
  Result<x509::KeyPtr> ca_key = x509::ReadKey(key_pem_);
  if (!ca_key.ok()) return ca_key.status();

  x509::CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  if (Status s = SetRandomSerial(cert.get()); !s.ok()) return s;
  if (Status s = SetValidity(cert.get(), not_before_ns, not_after_ns); !s.ok()) return s;
  if (Status s = SetCommonName(X509_get_subject_name(cert.get()), common_name); !s.ok()) return s;
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert->get()));
  X509_set_pubkey(cert.get(), public_key);
  for (const auto& [nid, value] : {std::pair<int, std::string>{NID_basic_constraints, "critical,CA:FALSE"},
                                   {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                                   {NID_ext_key_usage, key_usage},
                                   {NID_subject_key_identifier, "hash"},
                                   {NID_authority_key_identifier, "keyid:always"},
                                   {NID_subject_alt_name, subject_alt_name}}) {
    if (Status s = x509::AddExtension(cert.get(), ca_cert->get(), nid, value); !s.ok()) return s;
  }
  if (!X509_sign(cert.get(), ca_key->get(), EVP_sha256())) {
    return Status::IOError(x509::OpenSslError("cannot sign the certificate"));
  }
  return x509::CertificatePem(cert.get());
}

}  // namespace mesh
