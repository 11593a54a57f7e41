// Fuzz target: the security parsers that read data from the network or from files an operator
// may take from elsewhere, every input given to each:
//   - AuthorizationPolicy::Parse (meshd's policy file, and the answer of GET /v1/policy that
//     every mTLS sidecar applies) and then Check, through its public API only;
//   - CertificateAuthority::Issue on the input as a CSR (the body's csr of POST /v1/certs);
//   - InspectCertificate (the certificate meshd answers, read by the sidecar).
//
// Invariants: a parsed policy never allows an unidentified caller, answers the same call the
// same way twice, and says why when it denies; a CSR the CA signs gives a certificate that
// chains to the CA, is not a CA, names exactly the requested identity whatever the CSR asked
// for, and has exactly the requested validity.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/security/authorization_policy.h"
#include "mesh/security/certificate_authority.h"
#include "mesh/security/x509.h"

namespace {

constexpr int64_t kNow = 1'795'600'000'000'000'000;  // 2026-11-25
constexpr int64_t kHour = 3'600'000'000'000;

const mesh::CertificateAuthority& Ca() {
  static const mesh::CertificateAuthority ca = *mesh::CertificateAuthority::Create("fuzz.mesh", kNow);
  return ca;
}

void CheckPolicy(std::string_view text) {
  const mesh::Result<mesh::AuthorizationPolicy> policy = mesh::AuthorizationPolicy::Parse(text);
  if (!policy.ok()) return;
  for (const mesh::PolicyRule& rule : policy->rules()) {
    const std::string from = rule.from.empty() ? "a" : rule.from.front();
    const std::string to = rule.to.empty() ? "b" : rule.to.front();
    const std::string method = rule.methods.empty() ? "GET" : rule.methods.front();
    std::string prefix = rule.paths.empty() ? "" : rule.paths.front().text();
    if (!prefix.empty() && prefix.back() == '*') prefix.pop_back();
    const std::string path = rule.paths.empty() ? "/" : prefix + "/x";
    FUZZ_CHECK(!policy->Check("", to, method, path).allowed);
    const mesh::PolicyDecision first = policy->Check(from, to, method, path);
    const mesh::PolicyDecision second = policy->Check(from, to, method, path);
    FUZZ_CHECK(first.allowed == second.allowed && first.reason == second.reason);
    FUZZ_CHECK(first.allowed || !first.reason.empty());
  }
  FUZZ_CHECK(!policy->Check("", "orders", "GET", "/").allowed);
}

void CheckCsr(const std::string& pem) {
  const mesh::CertificateAuthority& ca = Ca();
  const mesh::Result<std::string> cert =
      ca.Issue({.csr_pem = pem, .service = "orders", .not_before_ns = kNow, .not_after_ns = kNow + kHour});
  if (!cert.ok()) return;
  const mesh::Result<mesh::CertificateInfo> info = mesh::InspectCertificate(*cert);
  FUZZ_CHECK(info.ok());
  FUZZ_CHECK(info->spiffe_id == "spiffe://fuzz.mesh/service/orders");
  FUZZ_CHECK(!info->is_ca);
  FUZZ_CHECK(info->not_before_ns == kNow / 1'000'000'000 * 1'000'000'000);
  FUZZ_CHECK(info->not_after_ns == (kNow + kHour) / 1'000'000'000 * 1'000'000'000);
  FUZZ_CHECK(mesh::VerifyCertificate(*cert, ca.certificate_pem(), kNow + 1'000'000'000).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  CheckPolicy(text);
  CheckCsr(text);
  (void)mesh::InspectCertificate(text);
  return 0;
}
