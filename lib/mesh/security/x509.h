// X.509 for mesh identities, PEM in and PEM out: P-256 keys, certificate signing requests,
// and what a certificate says (its SPIFFE ID, its validity, whether it is a CA). The CA that
// signs is certificate_authority.h; this header is what a workload (a meshproxy) needs.
#pragma once

#include <cstdint>
#include <string>

#include "mesh/base/status.h"

namespace mesh {

// A new EC P-256 private key, PKCS#8 PEM.
Result<std::string> GeneratePrivateKeyPem();

// A CSR for `key_pem` whose subject CN is `common_name` and whose SAN is the URI `spiffe_id`.
// The CA takes the identity from its own records, not from the CSR: the SAN is a courtesy.
Result<std::string> MakeCsrPem(const std::string& key_pem, const std::string& common_name,
                               const std::string& spiffe_id);

struct CertificateInfo {
  std::string spiffe_id;  // the first spiffe:// SAN URI, or empty
  std::string subject;    // one line, e.g. "CN=orders"
  std::string serial_hex;
  int64_t not_before_ns = 0;  // Unix epoch
  int64_t not_after_ns = 0;
  bool is_ca = false;
};

// The first certificate of a PEM bundle. Errors: InvalidArgument when it is not one.
Result<CertificateInfo> InspectCertificate(const std::string& cert_pem);

// "sha256:<hex>" of the DER SubjectPublicKeyInfo of the first certificate in `cert_pem`, as
// kubeadm's --discovery-token-ca-cert-hash: what a sidecar pins meshd's CA by. It survives a
// re-issue of the CA certificate with the same key. Errors: InvalidArgument when not a certificate.
Result<std::string> PublicKeyHash(const std::string& cert_pem);

// Whether `cert_pem` chains to `ca_pem` and is valid at `at_ns`. Errors: InvalidArgument with
// OpenSSL's reason ("certificate has expired", "unable to get local issuer certificate").
Status VerifyCertificate(const std::string& cert_pem, const std::string& ca_pem, int64_t at_ns);

// Whether the private key in `key_pem` is the one whose public half `cert_pem` carries.
Status CheckKeyMatchesCertificate(const std::string& key_pem, const std::string& cert_pem);

// Writes `content` to `path` with mode 0600, atomically (a temporary file renamed over it), so
// that a reader never sees half a key and a crash never leaves one readable by others.
Status WritePrivateFile(const std::string& path, const std::string& content);

// Reads a whole file. Errors: IOError naming the path.
Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace mesh
