#include "mesh/controlplane/credential_resolver.h"

#include <gtest/gtest.h>

#include <map>

#include "mesh/security/digest.h"
#include "mesh/security/join_token.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_credential_resolver_test {

constexpr int64_t kNow = 1'760'000'000LL * 1'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;

HttpRequest WithBearer(const std::string& token) {
  HttpRequest r;
  r.headers["authorization"] = "Bearer " + token;
  return r;
}

class CredentialResolverTest : public ::testing::Test {
 protected:
  // The token text; its record, hashed, in `records_`.
  std::string Add(const std::string& service, int64_t expires_ns = 0) {
    JoinToken token = *GenerateJoinToken();
    records_[token.id] = {token.id, service, Sha256Hex(token.secret), kNow, expires_ns, -1, 0, 0};
    return token.ToString();
  }
  CredentialResolver Make(CredentialResolver::Options options = {}) {
    return CredentialResolver(
        options,
        [this](const std::string& id) -> Result<std::optional<JoinTokenRecord>> {
          ++lookups_;
          if (store_down_) return Status::IOError("disk gone");
          auto it = records_.find(id);
          return it == records_.end() ? std::optional<JoinTokenRecord>() : std::optional<JoinTokenRecord>(it->second);
        },
        clock_);
  }

  testing::FakeClock clock_{kNow};
  std::map<std::string, JoinTokenRecord> records_;
  int lookups_ = 0;
  bool store_down_ = false;
};

TEST_F(CredentialResolverTest, AScopedTokenNamesItsService) {
  const std::string token = Add("orders");
  CredentialResolver resolver = Make();
  Result<Credential> c = resolver.Resolve(WithBearer(token));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, Credential::Kind::kServiceToken);
  EXPECT_EQ(c->service, "orders");
  EXPECT_EQ(c->token_id, token.substr(0, 6));
  // Only the hash is kept: the record does not contain the secret.
  EXPECT_EQ(records_.begin()->second.secret_sha256.find(token.substr(7)), std::string::npos);
}

HttpRequest WithPeer(const std::string& spiffe_id) {
  HttpRequest r;
  r.peer_spiffe_id = spiffe_id;
  return r;
}

TEST_F(CredentialResolverTest, AVerifiedClientCertificateNamesItsServiceInTheTrustDomain) {
  CredentialResolver resolver = Make({.trust_domain = "mesh.local"});
  Result<Credential> c = resolver.Resolve(WithPeer("spiffe://mesh.local/service/orders"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, Credential::Kind::kServiceCertificate);
  EXPECT_EQ(c->service, "orders");
  EXPECT_EQ(lookups_, 0);  // no store read for a certificate
}

TEST_F(CredentialResolverTest, ACertificateOfAnotherTrustDomainOrMalformedIdNamesNobody) {
  CredentialResolver resolver = Make({.trust_domain = "mesh.local"});
  for (const char* id : {"spiffe://other.domain/service/orders", "spiffe://mesh.local/orders",
                               "spiffe://mesh.local/service/../payments", "https://mesh.local/service/orders"}) {
    Result<Credential> c = resolver.Resolve(WithPeer(id));
    ASSERT_TRUE(c.ok()) << id;
    EXPECT_EQ(c->kind, Credential::Kind::kNone) << id;
  }
  // Without a trust domain configured no certificate counts.
  CredentialResolver unconfigured = Make();
  EXPECT_EQ(unconfigured.Resolve(WithPeer("spiffe://mesh.local/service/orders"))->kind, Credential::Kind::kNone);
}

TEST_F(CredentialResolverTest, AHeaderClaimingAnIdentityIsNotACertificate) {
  CredentialResolver resolver = Make({.trust_domain = "mesh.local"});
  HttpRequest r;
  r.headers["x-forwarded-client-cert"] = "URI=spiffe://mesh.local/service/orders";
  r.headers["peer_spiffe_id"] = "spiffe://mesh.local/service/orders";
  EXPECT_EQ(resolver.Resolve(r)->kind, Credential::Kind::kNone);
}

TEST_F(CredentialResolverTest, AVerifiedClientCertificateDecidesWhateverTokenComesWithIt) {
  const std::string token = Add("payments");
  CredentialResolver resolver = Make({.write_token = "w", .trust_domain = "mesh.local"});
  for (const std::string& bearer : {token, std::string("w"), std::string("forged.secret")}) {
    HttpRequest r = WithBearer(bearer);
    r.peer_spiffe_id = "spiffe://mesh.local/service/orders";
    Result<Credential> c = resolver.Resolve(r);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->kind, Credential::Kind::kServiceCertificate) << bearer;
    EXPECT_EQ(c->service, "orders") << bearer;
  }
  // A certificate of another trust domain leaves the token to decide.
  HttpRequest r = WithBearer(token);
  r.peer_spiffe_id = "spiffe://other.domain/service/orders";
  EXPECT_EQ(resolver.Resolve(r)->service, "payments");
}

TEST_F(CredentialResolverTest, TheSharedTokensAreRecognisedAndNothingElse) {
  CredentialResolver resolver = Make({.write_token = "w-secret", .read_token = "r-secret"});
  EXPECT_EQ(resolver.Resolve(WithBearer("w-secret"))->kind, Credential::Kind::kWriteToken);
  EXPECT_EQ(resolver.Resolve(WithBearer("r-secret"))->kind, Credential::Kind::kReadToken);
  EXPECT_EQ(resolver.Resolve(WithBearer("w-secre"))->refusal, "unknown");
  EXPECT_EQ(resolver.Resolve(HttpRequest{})->kind, Credential::Kind::kNone);
  EXPECT_EQ(lookups_, 0);  // not of the scoped form: no store read
}

TEST_F(CredentialResolverTest, AForgedSecretOrUnknownIdIsUnknown) {
  const std::string token = Add("orders");
  CredentialResolver resolver = Make();
  std::string forged = token;
  forged[10] = forged[10] == 'a' ? 'b' : 'a';
  EXPECT_EQ(resolver.Resolve(WithBearer(forged))->refusal, "unknown");
  EXPECT_EQ(resolver.Resolve(WithBearer("zzzzzz." + token.substr(7)))->refusal, "unknown");
  EXPECT_EQ(resolver.Resolve(WithBearer(token.substr(0, 38)))->refusal, "unknown");
  EXPECT_EQ(resolver.Resolve(WithBearer(token + "\t"))->refusal, "unknown");
}

TEST_F(CredentialResolverTest, ExpiryCountsOnTheWallClock) {
  const std::string token = Add("orders", kNow + 10 * kSecond);
  CredentialResolver resolver = Make();
  EXPECT_EQ(resolver.Resolve(WithBearer(token))->kind, Credential::Kind::kServiceToken);
  clock_.StepWall(10 * kSecond);
  EXPECT_EQ(resolver.Resolve(WithBearer(token))->refusal, "expired");
}

TEST_F(CredentialResolverTest, ARevocationShowsOnceTheCacheSecondHasPassed) {
  const std::string token = Add("orders");
  CredentialResolver resolver = Make();
  ASSERT_EQ(resolver.Resolve(WithBearer(token))->kind, Credential::Kind::kServiceToken);
  records_.begin()->second.revoked_ns = kNow;
  EXPECT_EQ(resolver.Resolve(WithBearer(token))->kind, Credential::Kind::kServiceToken);  // cached
  EXPECT_EQ(lookups_, 1);
  clock_.Advance(kSecond);
  EXPECT_EQ(resolver.Resolve(WithBearer(token))->refusal, "revoked");
  EXPECT_EQ(lookups_, 2);
}

TEST_F(CredentialResolverTest, TheCacheIsBoundedAndForgetReadsAgain) {
  CredentialResolver resolver = Make({.cache_entries = 3});
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) tokens.push_back(Add("s" + std::to_string(i)));
  for (const std::string& t : tokens) ASSERT_TRUE(resolver.Resolve(WithBearer(t)).ok());
  EXPECT_EQ(lookups_, 5);
  // The two newest survived the clearing; a forgotten one is read again.
  ASSERT_TRUE(resolver.Resolve(WithBearer(tokens[4])).ok());
  EXPECT_EQ(lookups_, 5);
  resolver.Forget(tokens[4].substr(0, 6));
  ASSERT_TRUE(resolver.Resolve(WithBearer(tokens[4])).ok());
  EXPECT_EQ(lookups_, 6);
}

TEST_F(CredentialResolverTest, AStoreErrorIsAnErrorNotARefusal) {
  const std::string token = Add("orders");
  store_down_ = true;
  CredentialResolver resolver = Make();
  EXPECT_FALSE(resolver.Resolve(WithBearer(token)).ok());
}

}  // namespace
}  // namespace mesh
