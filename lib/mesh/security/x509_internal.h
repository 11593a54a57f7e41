// OpenSSL plumbing shared by x509.cpp, certificate_authority.cpp and the proxy's TLS: owning
// pointers and PEM conversions. Not part of the library's interface (OpenSSL types inside).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "mesh/base/status.h"

namespace mesh::x509 {

struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
struct KeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct CertFree { void operator()(X509* p) const { X509_free(p); } };
struct CsrFree { void operator()(X509_REQ* p) const { X509_REQ_free(p); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;
using CsrPtr = std::unique_ptr<X509_REQ, CsrFree>;

// `what`, followed by OpenSSL's first queued error when there is one; clears the queue.
std::string OpenSslError(const std::string& what);
BioPtr MemoryBio(const std::string& data);
std::string BioText(BIO* bio);
Result<KeyPtr> ReadKey(const std::string& pem);
Result<CertPtr> ReadCertificate(const std::string& pem);
Result<std::string> KeyPem(EVP_PKEY* key);
Result<std::string> CertificatePem(X509* cert);
Result<KeyPtr> NewP256Key();
// Adds an extension in OpenSSL's config syntax ("critical,CA:TRUE"), issued by `issuer`.
Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value);
// The first spiffe:// URI among the certificate's subject alternative names, or "".
std::string FirstSpiffeUri(X509* cert);

}  // namespace mesh::x509
