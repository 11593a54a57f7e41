#include "mesh/controlplane/credential_resolver.h"

#include <cctype>

#include "mesh/base/token_file.h"
#include "mesh/security/digest.h"
#include "mesh/security/join_token.h"
#include "mesh/security/spiffe_id.h"

namespace mesh {
namespace {

// The token of "Authorization: Bearer <token>" ("" when there is none). The scheme is
// case-insensitive (RFC 9110 section 11.1).
std::string_view BearerToken(const HttpRequest& r) {
  const std::string& header = r.Header("authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (header.size() <= kBearer.size()) return {};
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kBearer[i]) return {};
  }
  return std::string_view(header).substr(kBearer.size());
}

}  // namespace

Credential CredentialResolver::CertificateCredential(const std::string& peer_spiffe_id) const {
  if (peer_spiffe_id.empty()) return Credential{};
  Result<ServiceIdentity> id = ParseSpiffeId(peer_spiffe_id);
  if (!id.ok() || options_.trust_domain.empty() || id->trust_domain != options_.trust_domain) return Credential{};
  Credential c = Credential::Of(Credential::Kind::kServiceCertificate);
  c.service = id->service;
  return c;
}

CredentialResolver::CredentialResolver(Options options, FindToken find, const Clock& clock)
    : options_(std::move(options)), find_(std::move(find)), clock_(clock) {}

Result<Credential> CredentialResolver::Resolve(const HttpRequest& r) {
  if (Credential certificate = CertificateCredential(r.peer_spiffe_id); certificate.NamesService()) return certificate;
  const std::string_view presented = BearerToken(r);
  if (presented.empty()) return Credential{};
  // Both comparisons always run, so that timing does not tell which token was close.
  const bool write = !options_.write_token.empty() && ConstantTimeEquals(presented, options_.write_token);
  const bool read = !options_.read_token.empty() && ConstantTimeEquals(presented, options_.read_token);
  if (write) return Credential::Of(Credential::Kind::kWriteToken);
  if (read) return Credential::Of(Credential::Kind::kReadToken);
  Result<JoinToken> token = ParseJoinToken(presented);
  if (!token.ok()) return Credential::Invalid("unknown");
  Result<std::optional<JoinTokenRecord>> record = Lookup(token->id);
  if (!record.ok()) return record.status();
  // An unknown id costs the same hash and comparison as a known one.
  const std::string stored = *record ? (*record)->secret_sha256 : std::string(64, '0');
  const bool secret_matches = ConstantTimeEquals(Sha256Hex(token->secret), stored);
  if (!*record || !secret_matches) return Credential::Invalid("unknown");
  if (std::string refusal = (*record)->RefusalAt(clock_.NowNs()); !refusal.empty()) return Credential::Invalid(std::move(refusal));
  Credential c;
  c.kind = Credential::Kind::kServiceToken;
  c.service = (*record)->service;
  c.token_id = (*record)->id;
  return c;
}

Result<std::optional<JoinTokenRecord>> CredentialResolver::Lookup(const std::string& id) {
  const int64_t now = clock_.MonotonicNs();
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(id); it != cache_.end() && now - it->second.read_at_ns < options_.cache_ns) {
      return it->second.record;
    }
  }
  Result<std::optional<JoinTokenRecord>> record = find_(id);
  if (!record.ok()) return record;
  std::lock_guard lock(mu_);
  if (cache_.size() >= options_.cache_entries) cache_.clear();
  cache_[id] = {*record, now};
  return record;
}

void CredentialResolver::Forget(const std::string& token_id) {
  std::lock_guard lock(mu_);
  cache_.erase(token_id);
}

}  // namespace mesh
