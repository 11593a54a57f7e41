// meshd's identity and policy endpoints, beside the control plane's:
//   GET  /v1/ca      {"trust_domain", "ca_pem"}: the CA certificate proxies trust (public).
//   POST /v1/certs   {"service", "csr_pem", "ttl"?} with the service's credential: its scoped
//                    token ("Authorization: Bearer <id>.<secret>", `meshd token create`) or,
//                    over TLS, its client certificate
//                    → {"certificate_pem", "ca_pem", "spiffe_id", "not_before", "not_after"}.
//   GET  /v1/policy  {"policy": {...} or null, "version"}: the authorization policy, re-read
//                    when its file changes; an invalid edit keeps the last good policy and is
//                    reported in "reload_error".
// A certificate names only the service of the credential that asked for it (403 for another
// service; 401 without a credential): the write and read tokens get none, and a meshd without
// scoped tokens issues none (fail closed). A token created with --uses spends one use per
// certificate. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "mesh/base/clock.h"
#include "mesh/controlplane/access_control.h"
#include "mesh/http/http_router.h"
#include "mesh/security/authorization_policy.h"
#include "mesh/security/certificate_authority.h"

namespace mesh {

class SecurityApi {
 public:
  struct Options {
    std::string policy_path;  // empty: no policy (every identified caller allowed)
    int64_t default_ttl_ns = CertificateAuthority::kDefaultValidityNs;
  };

  // Reads the policy file when one is named. Errors: the file's or the policy's.
  // `access` (ControlPlane's) decides who may have which certificate; it must outlive the API.
  static Result<std::unique_ptr<SecurityApi>> Create(CertificateAuthority ca, Options options, const Clock& clock,
                                                     AccessControl& access);

  void AddRoutes(HttpRouter& router);
  // meshd's SIGHUP: reads the policy file now, whatever its modification time says, and
  // returns the version in force. Errors: NotFound without a policy file; the file's or the
  // policy's (the last good policy stays in force, as for an edit seen by GET /v1/policy).
  Result<std::string> ReloadPolicy();

 private:
  SecurityApi(CertificateAuthority ca, Options options, const Clock& clock, AccessControl& access)
      : ca_(std::move(ca)), options_(std::move(options)), clock_(clock), access_(access) {}
  HttpResponse Ca(const HttpRequest& request) const;
  HttpResponse IssueCertificate(const HttpRequest& request);
  HttpResponse Policy(const HttpRequest& request);
  Status LoadPolicy();

  const CertificateAuthority ca_;
  const Options options_;
  const Clock& clock_;
  AccessControl& access_;

  std::mutex policy_mu_;
  std::string policy_text_;  // canonical JSON of the last good policy, or empty
  std::string policy_version_;
  std::string reload_error_;
  int64_t policy_mtime_ns_ = -1;
  int64_t policy_checked_ns_ = 0;
};

}  // namespace mesh
