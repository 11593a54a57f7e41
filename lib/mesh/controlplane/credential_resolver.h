// CredentialResolver: which credential a request to meshd presents (access_rules.h decides what
// it may do). A client certificate the TLS server verified against meshd's CA
// (HttpRequest::peer_spiffe_id), for a service of `trust_domain`, is that service's credential,
// as its scoped token would be, whatever bearer token comes with it: it is bound to the
// connection by a key the client holds, so a sidecar renewing its certificate needs no token
// (its one-use token is spent by then). Without one, the bearer token is compared, in constant time, with the write and the read
// token; otherwise a token of the scoped form (<id>.<secret>) is looked up by id in the store
// and its secret's SHA-256 compared, in constant time, with the stored one. Records read from
// the store are kept at most `cache_ns` (1 s), so that `meshd token revoke` from another
// process takes effect on the next request after that; the cache holds at most
// `cache_entries` tokens (emptied when full, so a flood of made-up ids costs store reads, never
// memory). Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "mesh/base/clock.h"
#include "mesh/controlplane/access_rules.h"
#include "mesh/http/http_message.h"
#include "mesh/store/join_token_store.h"

namespace mesh {

class CredentialResolver {
 public:
  using FindToken = std::function<Result<std::optional<JoinTokenRecord>>(const std::string& id)>;
  struct Options {
    std::string write_token;
    std::string read_token;
    std::string trust_domain;  // a client certificate of another trust domain names nobody
    int64_t cache_ns = 1'000'000'000;
    size_t cache_entries = 4096;
  };

  CredentialResolver(Options options, FindToken find, const Clock& clock);

  AccessSettings settings() const { return {!options_.write_token.empty(), !options_.read_token.empty()}; }
  // Errors: the store's, when a scoped token could not be looked up.
  Result<Credential> Resolve(const HttpRequest& request);
  // Forgets what is cached about the token (after meshd itself spent one of its uses).
  void Forget(const std::string& token_id);

 private:
  Credential CertificateCredential(const std::string& peer_spiffe_id) const;
  Result<std::optional<JoinTokenRecord>> Lookup(const std::string& id);

  const Options options_;
  const FindToken find_;
  const Clock& clock_;
  struct Cached {
    std::optional<JoinTokenRecord> record;
    int64_t read_at_ns = 0;  // monotonic
  };
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace mesh
