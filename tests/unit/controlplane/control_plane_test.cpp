// ControlPlane's access rules over HTTP, route by route as its router lists them: writes need
// a credential (the write token; a service's scoped token for telemetry and that service's
// registry entries), reads the read token (or the write token) when meshd has one, and only
// liveness and the dashboard page are open. Also: dashboard paths that try to leave it.
#include "mesh/controlplane/control_plane.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "in_process_meshd.h"
#include "mesh/base/json_text.h"
#include "mesh/controlplane/access_rules.h"
#include "mesh/security/digest.h"
#include "mesh/security/join_token.h"
#include "mesh/store/join_token_store.h"
#include "raw_http.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_control_plane_test {

using testing::InProcessMeshd;
using testing::RawHttp;
using testing::RawReply;
using testing::TempDir;

constexpr char kWriteToken[] = "write-token-7f3a9c";
constexpr char kReadToken[] = "read-token-51be02";

using Headers = std::vector<std::pair<std::string, std::string>>;

Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// A concrete path for a route pattern: each {param} becomes "x".
std::string PathFor(const std::string& pattern) {
  std::string path;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      path += 'x';
      i = pattern.find('}', i);
    } else {
      path += pattern[i];
    }
  }
  return path;
}

HttpRequest RequestFor(const std::string& method, const std::string& path) {
  HttpRequest request;
  request.method = method;
  request.path = path;
  return request;
}

std::string Name(const HttpRoute& r) { return r.method + " " + r.pattern; }

// A scoped token for `service` in the store at `db_path`, as `meshd token create` makes it.
std::string CreateToken(const std::string& db_path, const std::string& service, int64_t expires_ns = 0) {
  Result<std::unique_ptr<Store>> store = Store::Open({.path = db_path});
  EXPECT_TRUE(store.ok());
  Result<JoinToken> token = GenerateJoinToken();
  EXPECT_TRUE(token.ok());
  EXPECT_TRUE(JoinTokenStore(**store).Add({token->id, service, Sha256Hex(token->secret), 1, expires_ns, -1, 0, 0}).ok());
  return token->ToString();
}

bool IsJsonError(const std::string& body) {
  Result<Json::Value> v = ParseJson(body);
  return v.ok() && v->isObject() && (*v)["error"].isString();
}

// What must stay open whatever the tokens: liveness probes and the page (fixed HTML, no data).
const std::set<std::string> kPublic = {"GET /healthz", "GET /", "GET /dashboard", "GET /dashboard/traces/{id}",
                                        "GET /dashboard/services/{name}", "GET /dashboard/map"};

class ControlPlaneAuth : public ::testing::Test {
 protected:
  TempDir dir_;
  InProcessMeshd meshd_{dir_.File("mesh.db"), {.token = kWriteToken, .read_token = kReadToken}};
};

// The audit, written out: every route that changes state. A route added without a decision
// here fails this test, and every non-GET route is a write whatever this list says.
TEST_F(ControlPlaneAuth, TheWriteRoutesAreTheOnesKnown) {
  std::set<std::string> writes;
  for (const HttpRoute& r : meshd_.Routes()) {
    if (r.method != "GET") writes.insert(Name(r));
  }
  EXPECT_EQ(writes, (std::set<std::string>{
                        "POST /v1/traces", "POST /v1/logs", "POST /api/v2/spans", "POST /v1/register",
                        "POST /register", "POST /v1/instances/{id}/heartbeat", "DELETE /v1/instances/{id}",
                        "POST /v1/metrics", "POST /metrics", "POST /v1/alerts/check", "POST /v1/silences",
                        "DELETE /v1/silences/{id}"}));
}

// meshd answers these on its I/O thread, beside connections it is reading: only a route that
// cannot block may be among them, and a route added later is not there by accident.
TEST_F(ControlPlaneAuth, OnlyLivenessIsAnsweredWithoutTheStore) {
  std::set<std::string> inline_routes;
  for (const HttpRoute& r : meshd_.Routes()) {
    if (ControlPlane::AnswersWithoutTheStore(RequestFor(r.method, PathFor(r.pattern)))) {
      inline_routes.insert(Name(r));
    }
  }
  EXPECT_EQ(inline_routes, std::set<std::string>{"GET /healthz"});
  EXPECT_TRUE(ControlPlane::AnswersWithoutTheStore(RequestFor("HEAD", "/healthz")));
  for (const char* path : {"/healthz/", "/HEALTHZ", "/healthz/x", ""}) {
    EXPECT_FALSE(ControlPlane::AnswersWithoutTheStore(RequestFor("GET", path))) << path;
  }
  EXPECT_FALSE(ControlPlane::AnswersWithoutTheStore(RequestFor("POST", "/healthz")));
}

TEST_F(ControlPlaneAuth, EveryWriteRouteNeedsACredential) {
  const std::string orders = CreateToken(dir_.File("mesh.db"), "orders");
  int writes = 0;
  for (const HttpRoute& route : meshd_.Routes()) {
    if (route.method == "GET") continue;
    ++writes;
    const std::string path = PathFor(route.pattern);
    for (const Headers& refused :
         {Headers{}, Bearer("wrong"), Bearer(std::string(kWriteToken) + "x"),
          Bearer(std::string(kWriteToken).substr(0, 10)), Headers{{"Authorization", kWriteToken}},
          Headers{{"Authorization", std::string("Basic ") + kWriteToken}}, Bearer(orders + "x"),
          Bearer(orders.substr(0, 7) + std::string(32, 'a'))}) {
      const HttpClientResponse r = meshd_.Request(route.method, path, "{}", refused);
      EXPECT_EQ(r.status, 401) << Name(route) << " with " << (refused.empty() ? "no token" : refused[0].second);
      EXPECT_TRUE(IsJsonError(r.body)) << Name(route) << ": " << r.body;
    }
    // The read token is known, and grants no write.
    const HttpClientResponse read = meshd_.Request(route.method, path, "{}", Bearer(kReadToken));
    EXPECT_EQ(read.status, 403) << Name(route) << ": " << read.body;
    // The write token writes everything but the registry, whose entries belong to services.
    const RouteClass route_class = ClassifyRoute(route);
    const HttpClientResponse write = meshd_.Request(route.method, path, "{}", Bearer(kWriteToken));
    if (route_class == RouteClass::kRegistry) {
      EXPECT_EQ(write.status, 403) << Name(route) << ": " << write.body;
    } else {
      EXPECT_NE(write.status, 401) << Name(route) << ": " << write.body;
      EXPECT_NE(write.status, 403) << Name(route) << ": " << write.body;
    }
    // A service's token pushes telemetry and reaches the registry (which then checks the
    // service); alert checks and silences stay the write token's.
    const HttpClientResponse scoped = meshd_.Request(route.method, path, "{}", Bearer(orders));
    if (route_class == RouteClass::kAdmin) {
      EXPECT_EQ(scoped.status, 403) << Name(route) << ": " << scoped.body;
    } else {
      EXPECT_NE(scoped.status, 401) << Name(route) << ": " << scoped.body;
      EXPECT_NE(scoped.status, 403) << Name(route) << ": " << scoped.body;
    }
  }
  EXPECT_GE(writes, 12);
  const std::string metrics = meshd_.Request("GET", "/metrics", "", Bearer(kReadToken)).body;
  EXPECT_NE(metrics.find("mesh_auth_refusals_total{reason=\"unknown\",route_class=\"registry\"}"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("mesh_auth_refusals_total{reason=\"wrong_credential\",route_class=\"admin\"}"),
            std::string::npos)
      << metrics;
}

std::string Registration(const std::string& service, int port) {
  return "{\"service\":\"" + service + "\",\"host\":\"127.0.0.1\",\"port\":" + std::to_string(port) + "}";
}

TEST_F(ControlPlaneAuth, AServicesTokenRegistersOnlyThatService) {
  const std::string orders = CreateToken(dir_.File("mesh.db"), "orders");
  const std::string payments = CreateToken(dir_.File("mesh.db"), "payments");
  EXPECT_EQ(meshd_.Request("POST", "/v1/register", Registration("orders", 8001), Bearer(orders)).status, 200);
  ASSERT_EQ(meshd_.Request("POST", "/v1/register", Registration("payments", 8002), Bearer(payments)).status, 200);
  // orders' token can neither register payments nor touch its instance.
  const HttpClientResponse r = meshd_.Request("POST", "/v1/register", Registration("payments", 8003), Bearer(orders));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("cannot act for service payments"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("meshd token create --service payments"), std::string::npos) << r.body;
  EXPECT_EQ(meshd_.Request("POST", "/register", "{\"service_name\":\"payments\",\"host\":\"127.0.0.1\",\"port\":8003}",
                           Bearer(orders))
                .status,
            403);
  const std::string payments_instance = "/v1/instances/payments@127.0.0.1:8002";
  EXPECT_EQ(meshd_.Request("POST", payments_instance + "/heartbeat", "", Bearer(orders)).status, 403);
  EXPECT_EQ(meshd_.Request("DELETE", payments_instance, "", Bearer(orders)).status, 403);
  EXPECT_EQ(meshd_.Request("DELETE", payments_instance, "", Bearer(kWriteToken)).status, 403);
  // Still there, and its own token still works on it.
  const std::string services = meshd_.Request("GET", "/v1/services/payments", "", Bearer(kReadToken)).body;
  EXPECT_NE(services.find("payments@127.0.0.1:8002"), std::string::npos) << services;
  EXPECT_EQ(services.find("8003"), std::string::npos) << services;
  EXPECT_EQ(meshd_.Request("POST", payments_instance + "/heartbeat", "", Bearer(payments)).status, 200);
  EXPECT_EQ(meshd_.Request("DELETE", "/v1/instances/orders@127.0.0.1:8001", "", Bearer(orders)).status, 200);
  // An unknown instance is 404 to a service's token, as it was.
  EXPECT_EQ(meshd_.Request("POST", "/v1/instances/nope/heartbeat", "", Bearer(orders)).status, 404);
  const std::string metrics = meshd_.Request("GET", "/metrics", "", Bearer(kReadToken)).body;
  EXPECT_NE(metrics.find("mesh_auth_refusals_total{reason=\"other_service\",route_class=\"registry\"} 4"),
            std::string::npos)
      << metrics;
}

TEST_F(ControlPlaneAuth, AServicesTokenReadsWhatASidecarNeedsAndNothingElse) {
  const std::string orders = CreateToken(dir_.File("mesh.db"), "orders");
  EXPECT_EQ(meshd_.Request("GET", "/v1/services/payments", "", Bearer(orders)).status, 404);  // allowed, none yet
  EXPECT_EQ(meshd_.Request("GET", "/v1/services", "", Bearer(orders)).status, 403);
  EXPECT_EQ(meshd_.Request("GET", "/v1/logs", "", Bearer(orders)).status, 403);
}

TEST_F(ControlPlaneAuth, AnExpiredTokenIsRefusedEverywhere) {
  const std::string expired = CreateToken(dir_.File("mesh.db"), "orders", 2);  // expired in 1970
  const HttpClientResponse r = meshd_.Request("POST", "/v1/register", Registration("orders", 8001), Bearer(expired));
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("expired"), std::string::npos) << r.body;
  EXPECT_EQ(meshd_.Request("POST", "/v1/logs", "{\"resourceLogs\":[]}", Bearer(expired)).status, 401);
}

TEST_F(ControlPlaneAuth, EveryReadRouteNeedsTheReadOrTheWriteToken) {
  int reads = 0;
  for (const HttpRoute& route : meshd_.Routes()) {
    if (route.method != "GET" || kPublic.count(Name(route))) continue;
    ++reads;
    const std::string path = PathFor(route.pattern);
    for (const Headers& refused : {Headers{}, Bearer("wrong"), Bearer(std::string(kReadToken) + "x")}) {
      const HttpClientResponse r = meshd_.Request("GET", path, "", refused);
      EXPECT_EQ(r.status, 401) << Name(route) << " with " << (refused.empty() ? "no token" : refused[0].second);
      EXPECT_TRUE(IsJsonError(r.body)) << Name(route) << ": " << r.body;
      std::string head = "HEAD " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
      for (const auto& [name, value] : refused) head += name + ": " + value + "\r\n";
      EXPECT_EQ(RawHttp(meshd_.port(), head + "\r\n").status, 401) << "HEAD " << route.pattern;
    }
    for (const char* token : {kReadToken, kWriteToken}) {
      const HttpClientResponse r = meshd_.Request("GET", path, "", Bearer(token));
      EXPECT_NE(r.status, 401) << Name(route) << " with " << token << ": " << r.body;
    }
  }
  EXPECT_GE(reads, 16);
}

TEST_F(ControlPlaneAuth, LivenessAndTheDashboardPageNeedNoToken) {
  std::set<std::string> open;
  for (const HttpRoute& route : meshd_.Routes()) {
    if (!kPublic.count(Name(route))) continue;
    open.insert(Name(route));
    EXPECT_EQ(meshd_.Request("GET", PathFor(route.pattern)).status, 200) << Name(route);
  }
  EXPECT_EQ(open, kPublic);
}

TEST_F(ControlPlaneAuth, RefusalsSayWhichTokenIsNeededAndAskForBearer) {
  const RawReply read = RawHttp(meshd_.port(), "GET /v1/services HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(read.status, 401);
  EXPECT_NE(read.head.find("\r\nWWW-Authenticate: Bearer realm=\"meshd\""), std::string::npos) << read.head;
  EXPECT_NE(read.body.find("reads need the read or the write token"), std::string::npos) << read.body;
  const RawReply write = RawHttp(meshd_.port(),
                                 "POST /v1/logs HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                                     std::string(kReadToken) + "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
  EXPECT_EQ(write.status, 403);
  EXPECT_NE(write.body.find("the read token does not grant this: telemetry needs the write token or a service's credential"),
            std::string::npos)
      << write.body;
}

TEST_F(ControlPlaneAuth, TheBearerSchemeIsCaseInsensitive) {
  for (const char* scheme : {"bearer ", "BEARER ", "BeArEr "}) {
    EXPECT_EQ(meshd_.Request("GET", "/v1/services", "", {{"Authorization", scheme + std::string(kReadToken)}}).status,
              200)
        << scheme;
  }
}

TEST(ControlPlaneWithoutReadToken, ReadsAreOpenAndWritesStillNeedTheToken) {
  TempDir dir;
  InProcessMeshd meshd(dir.File("mesh.db"), {.token = kWriteToken});
  EXPECT_EQ(meshd.Request("GET", "/v1/services").status, 200);
  EXPECT_EQ(meshd.Request("GET", "/metrics").status, 200);
  EXPECT_EQ(meshd.Request("POST", "/v1/logs", "{\"resourceLogs\":[]}").status, 401);
  EXPECT_EQ(meshd.Request("POST", "/v1/logs", "{\"resourceLogs\":[]}", Bearer(kWriteToken)).status, 200);
}

TEST(ControlPlaneWithoutTokens, EverythingIsOpen) {
  TempDir dir;
  InProcessMeshd meshd(dir.File("mesh.db"));
  EXPECT_EQ(meshd.Request("GET", "/v1/services").status, 200);
  EXPECT_EQ(meshd.Request("POST", "/v1/logs", "{\"resourceLogs\":[]}").status, 200);
  EXPECT_EQ(meshd.Request("POST", "/v1/register", Registration("orders", 8001)).status, 200);
  EXPECT_EQ(meshd.Request("DELETE", "/v1/instances/orders@127.0.0.1:8001").status, 200);
}

// A read token alone: reads need it, and writes are as open as before (no write token).
TEST(ControlPlaneWithOnlyAReadToken, ReadsNeedItAndWritesDoNot) {
  TempDir dir;
  InProcessMeshd meshd(dir.File("mesh.db"), {.read_token = kReadToken});
  EXPECT_EQ(meshd.Request("GET", "/v1/services").status, 401);
  EXPECT_EQ(meshd.Request("GET", "/v1/services", "", Bearer(kReadToken)).status, 200);
  EXPECT_EQ(meshd.Request("POST", "/v1/logs", "{\"resourceLogs\":[]}").status, 200);
}

// meshd serves no files: the dashboard is compiled in, so no path, however encoded, reaches
// the file system. These are what browsers and curl would normalize away, sent raw.
TEST(ControlPlaneDashboard, PathsThatTryToLeaveItAre400Or404) {
  TempDir dir;
  InProcessMeshd meshd(dir.File("mesh.db"));
  for (const std::string target :
       {"/dashboard/../../../etc/passwd", "/dashboard/..%2f..%2fetc%2fpasswd", "/dashboard/%2e%2e/%2e%2e/etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd", "/dashboard%2f..%2f..%2fetc%2fpasswd", "/dashboard%00/../../etc/passwd",
        "/dashboard%00.html", "/dashboard/traces/..%2f..%2fetc%2fpasswd", "/dashboard\\..\\..\\etc\\passwd",
        "/dashboard/index.html", "/share/mesh/dashboard/index.html", "/dashboard/%252e%252e/etc/passwd",
        "//etc/passwd", "/./etc/passwd"}) {
    const RawReply r = RawHttp(meshd.port(), "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(r.status == 400 || r.status == 404) << target << ": " << r.head;
    EXPECT_TRUE(IsJsonError(r.body)) << target << ": " << r.body;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << target;
  }
}

}  // namespace
}  // namespace mesh
