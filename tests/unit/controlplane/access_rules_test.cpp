// The decision table of who may do what on meshd, credential by route class.
#include "mesh/controlplane/access_rules.h"

#include <gtest/gtest.h>

namespace mesh {
namespace controlplane_access_rules_test {

using Kind = Credential::Kind;

Credential Service(Kind kind, const std::string& service) {
  Credential c = Credential::Of(kind);
  c.service = service;
  c.token_id = "abc123";
  return c;
}

const AccessSettings kBothTokens{.write_token = true, .read_token = true};
const AccessSettings kNoTokens{};

TEST(AccessRules, ACredentialNamingOneServiceActsForThatServiceOnly) {
  for (Kind kind : {Kind::kServiceToken, Kind::kServiceCertificate}) {
    const Credential orders = Service(kind, "orders");
    for (RouteClass rc : {RouteClass::kRegistry, RouteClass::kCertificates}) {
      EXPECT_TRUE(DecideAccess(rc, orders, "orders", kBothTokens).allowed());
      const AccessDecision other = DecideAccess(rc, orders, "payments", kBothTokens);
      EXPECT_EQ(other.status, 403);
      EXPECT_EQ(other.reason, "other_service");
      EXPECT_NE(other.message.find("meshd token create --service payments"), std::string::npos) << other.message;
    }
  }
}

TEST(AccessRules, CertificatesAreNeverOpenAndNeverTheSharedTokens) {
  for (const AccessSettings& settings : {kBothTokens, kNoTokens}) {
    EXPECT_EQ(DecideAccess(RouteClass::kCertificates, Credential{}, "orders", settings).status, 401);
    EXPECT_EQ(DecideAccess(RouteClass::kCertificates, Credential::Invalid("unknown"), "orders", settings).reason,
              "unknown");
  }
  for (Kind shared : {Kind::kWriteToken, Kind::kReadToken}) {
    const AccessDecision d = DecideAccess(RouteClass::kCertificates, Credential::Of(shared), "orders", kBothTokens);
    EXPECT_EQ(d.status, 403);
    EXPECT_EQ(d.reason, "wrong_credential");
  }
}

TEST(AccessRules, TheWriteTokenNoLongerWritesTheRegistryButStillEverythingElse) {
  const Credential write = Credential::Of(Kind::kWriteToken);
  EXPECT_EQ(DecideAccess(RouteClass::kRegistry, write, "orders", kBothTokens).status, 403);
  for (RouteClass rc : {RouteClass::kTelemetry, RouteClass::kAdmin, RouteClass::kRead, RouteClass::kSidecarRead}) {
    EXPECT_TRUE(DecideAccess(rc, write, "", kBothTokens).allowed());
  }
}

TEST(AccessRules, AServicesCredentialPushesTelemetryAndReadsOnlyWhatASidecarReads) {
  const Credential orders = Service(Kind::kServiceToken, "orders");
  EXPECT_TRUE(DecideAccess(RouteClass::kTelemetry, orders, "", kBothTokens).allowed());
  EXPECT_TRUE(DecideAccess(RouteClass::kSidecarRead, orders, "", kBothTokens).allowed());
  EXPECT_EQ(DecideAccess(RouteClass::kRead, orders, "", kBothTokens).status, 403);
  EXPECT_EQ(DecideAccess(RouteClass::kAdmin, orders, "", kBothTokens).status, 403);
}

TEST(AccessRules, WithoutAWriteTokenWritesAndTheRegistryAreOpenButNotCertificates) {
  for (RouteClass rc : {RouteClass::kTelemetry, RouteClass::kAdmin, RouteClass::kRegistry, RouteClass::kRead}) {
    EXPECT_TRUE(DecideAccess(rc, Credential{}, "orders", kNoTokens).allowed());
  }
  EXPECT_FALSE(DecideAccess(RouteClass::kCertificates, Credential{}, "orders", kNoTokens).allowed());
}

TEST(AccessRules, RefusedTokensSayWhyWith401) {
  for (const char* why : {"unknown", "expired", "revoked", "used_up"}) {
    const AccessDecision d = DecideAccess(RouteClass::kRegistry, Credential::Invalid(why), "orders", kBothTokens);
    EXPECT_EQ(d.status, 401) << why;
    EXPECT_EQ(d.reason, why);
  }
  EXPECT_EQ(DecideAccess(RouteClass::kTelemetry, Credential{}, "", kBothTokens).reason, "missing");
}

TEST(AccessRules, AnUnknownServiceIsDecidedForAnyServiceAndAgainLater) {
  // The guard runs before the body is read: a service's credential passes it, nothing else does.
  EXPECT_TRUE(DecideAccess(RouteClass::kRegistry, Service(Kind::kServiceToken, "orders"), "", kBothTokens).allowed());
  EXPECT_EQ(DecideAccess(RouteClass::kRegistry, Credential{}, "", kBothTokens).status, 401);
}

TEST(AccessRules, RoutesAreClassifiedAndNewOnesAreNeverPublic) {
  EXPECT_EQ(ClassifyRoute({"POST", "/v1/certs"}), RouteClass::kCertificates);
  EXPECT_EQ(ClassifyRoute({"POST", "/register"}), RouteClass::kRegistry);
  EXPECT_EQ(ClassifyRoute({"DELETE", "/v1/instances/{id}"}), RouteClass::kRegistry);
  EXPECT_EQ(ClassifyRoute({"POST", "/v1/instances/{id}/heartbeat"}), RouteClass::kRegistry);
  EXPECT_EQ(ClassifyRoute({"POST", "/api/v2/spans"}), RouteClass::kTelemetry);
  EXPECT_EQ(ClassifyRoute({"GET", "/v1/ca"}), RouteClass::kPublic);
  EXPECT_EQ(ClassifyRoute({"GET", "/v1/policy"}), RouteClass::kSidecarRead);
  EXPECT_EQ(ClassifyRoute({"GET", "/v1/something-new"}), RouteClass::kRead);
  EXPECT_EQ(ClassifyRoute({"PUT", "/v1/something-new"}), RouteClass::kAdmin);
  EXPECT_EQ(ClassifyRoute({"DELETE", "/v1/certs"}), RouteClass::kAdmin);
}

}  // namespace
}  // namespace mesh
