// Scoped tokens in a real store (a temporary file) behind a real AccessControl, for the suites
// that run SecurityApi without a ControlPlane (its own suite, the identity server of the proxy's
// suites). Tokens are made as `meshd token create` makes them. No cache: a revocation or an
// expiry shows on the next request, whatever the fake clock's monotonic time does.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>

#include "mesh/controlplane/access_control.h"
#include "mesh/security/digest.h"
#include "mesh/security/join_token.h"
#include "mesh/store/join_token_store.h"
#include "mesh/telemetry/metrics.h"
#include "test_support.h"

namespace mesh::testing {

class ScopedTokens {
 public:
  explicit ScopedTokens(const Clock& clock, CredentialResolver::Options options = {}) : clock_(clock) {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = dir_.File("tokens.db")});
    EXPECT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    refusals_ = *metrics_.AddCounter("mesh_auth_refusals_total", "refusals", {"route_class", "reason"});
    options.cache_ns = 0;
    access_ = std::make_unique<AccessControl>(
        std::move(options),
        [this](const std::string& id) {
          std::lock_guard lock(mu_);
          return JoinTokenStore(*store_).Find(id);
        },
        [this](const std::string& id, bool spend) {
          std::lock_guard lock(mu_);
          return JoinTokenStore(*store_).RecordUse(id, clock_.NowNs(), spend);
        },
        clock_, refusals_);
  }

  // A new token for `service`, as its text; ttl 0: never expires; uses -1: unlimited.
  std::string Create(const std::string& service, int64_t ttl_ns = 0, int64_t uses = JoinTokenRecord::kUnlimitedUses) {
    Result<JoinToken> token = GenerateJoinToken();
    EXPECT_TRUE(token.ok());
    const int64_t now = clock_.NowNs();
    std::lock_guard lock(mu_);
    EXPECT_TRUE(JoinTokenStore(*store_)
                    .Add({token->id, service, Sha256Hex(token->secret), now, ttl_ns == 0 ? 0 : now + ttl_ns, uses, 0, 0})
                    .ok());
    return token->ToString();
  }
  void Revoke(const std::string& token) {
    std::lock_guard lock(mu_);
    EXPECT_TRUE(JoinTokenStore(*store_).Revoke(token.substr(0, JoinToken::kIdLength), clock_.NowNs()).ok());
  }
  JoinTokenRecord Record(const std::string& token) {
    std::lock_guard lock(mu_);
    Result<std::optional<JoinTokenRecord>> r = JoinTokenStore(*store_).Find(token.substr(0, JoinToken::kIdLength));
    return r.ok() && *r ? **r : JoinTokenRecord{};
  }
  // How many refusals were counted with these labels.
  double Refusals(const std::string& route_class, const std::string& reason) {
    Result<Counter*> c = refusals_->WithLabels({route_class, reason});
    return c.ok() ? (*c)->Value() : -1;
  }
  AccessControl& access() { return *access_; }

 private:
  const Clock& clock_;
  TempDir dir_;
  std::mutex mu_;
  std::unique_ptr<Store> store_;
  MetricsRegistry metrics_;
  Family<Counter>* refusals_ = nullptr;
  std::unique_ptr<AccessControl> access_;
};

}  // namespace mesh::testing
