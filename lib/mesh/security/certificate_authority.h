// meshd's certificate authority: one EC P-256 key and a self-signed CA certificate, kept in a
// directory (ca.key mode 0600, ca.crt), created on first start or imported. It signs workload
// CSRs into short-lived certificates whose only identity is the SAN URI
// spiffe://<trust-domain>/service/<name>, usable for both TLS server and client auth.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/security/spiffe_id.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace mesh {

class CertificateAuthority {
 public:
  static constexpr int64_t kDefaultValidityNs = 24LL * 3600 * 1'000'000'000;
  static constexpr int64_t kCaValidityNs = 10LL * 365 * 24 * 3600 * 1'000'000'000;

  // A new key and CA certificate, valid from `now_ns` (minus an hour for clock skew) for
  // kCaValidityNs.
  static Result<CertificateAuthority> Create(const std::string& trust_domain, int64_t now_ns);
  // An existing CA. Errors: InvalidArgument when the certificate is not a CA, or the key is not
  // its key.
  static Result<CertificateAuthority> FromPem(const std::string& trust_domain, const std::string& cert_pem,
                                              const std::string& key_pem);
  // Loads <dir>/ca.crt and <dir>/ca.key, creating both (and dir) when neither exists. A key
  // readable by group or others is refused.
  static Result<CertificateAuthority> LoadOrCreate(const std::string& dir, const std::string& trust_domain,
                                                   int64_t now_ns);
  // Validates a CA given as PEM files and copies it into `dir` (replacing what is there).
  static Status Import(const std::string& dir, const std::string& cert_path, const std::string& key_path);

  struct IssueRequest {
    std::string csr_pem;
    std::string service;
    int64_t not_before_ns = 0;
    int64_t not_after_ns = 0;
  };
  // Signs the CSR's public key (after checking the CSR's own signature) for `service`.
  // Errors: InvalidArgument for a bad CSR, key type, service name or validity.
  Result<std::string> Issue(const IssueRequest& request) const;

  // meshd's own server certificate (meshd --tls): the SANs are `hosts` (DNS names, or IP
  // addresses), no SPIFFE ID, server authentication only, for the key in `key_pem`.
  struct ServerRequest {
    std::string key_pem;
    std::vector<std::string> hosts;
    int64_t not_before_ns = 0;
    int64_t not_after_ns = 0;
  };
  // Errors: InvalidArgument for no host, a host with ',' or a space, a bad key or validity.
  Result<std::string> IssueServer(const ServerRequest& request) const;

  const std::string& trust_domain() const { return trust_domain_; }
  const std::string& certificate_pem() const { return cert_pem_; }

 private:
  Result<std::string> SignLeaf(evp_pkey_st* public_key, const std::string& common_name,
                               const std::string& subject_alt_name, const std::string& key_usage,
                               int64_t not_before_ns, int64_t not_after_ns) const;
  CertificateAuthority(std::string trust_domain, std::string cert_pem, std::string key_pem)
      : trust_domain_(std::move(trust_domain)), cert_pem_(std::move(cert_pem)), key_pem_(std::move(key_pem)) {}
  std::string trust_domain_;
  std::string cert_pem_;
  std::string key_pem_;
};

}  // namespace mesh
