#include "mesh/controlplane/access_rules.h"

namespace mesh {
namespace {

bool Is(const HttpRoute& r, std::string_view method, std::string_view pattern) {
  return r.method == method && r.pattern == pattern;
}

// What a request for `route_class` on `service` needs, for the error message.
std::string Needed(RouteClass route_class, std::string_view service) {
  const std::string name = service.empty() ? "NAME" : std::string(service);
  const std::string scoped = "the service's scoped token (meshd token create --service " + name +
                             ") or, over TLS, its client certificate";
  switch (route_class) {
    case RouteClass::kRead: return "reads need the read or the write token";
    case RouteClass::kSidecarRead: return "this read needs the read or the write token, or a service's credential";
    case RouteClass::kTelemetry: return "telemetry needs the write token or a service's credential";
    case RouteClass::kRegistry: return "registry writes for service " + name + " need " + scoped;
    case RouteClass::kCertificates: return "a certificate for service " + name + " needs " + scoped;
    case RouteClass::kAdmin: return "this write needs the write token";
    case RouteClass::kPublic: break;
  }
  return "";
}

std::string Describe(const Credential& c) {
  switch (c.kind) {
    case Credential::Kind::kWriteToken: return "the write token";
    case Credential::Kind::kReadToken: return "the read token";
    case Credential::Kind::kServiceToken: return "token " + c.token_id + " (service " + c.service + ")";
    case Credential::Kind::kServiceCertificate: return "the client certificate of service " + c.service;
    default: return "the credential";
  }
}

AccessDecision Refuse(int status, std::string reason, std::string message) {
  return {status, std::move(reason), std::move(message)};
}

// A request that presented nothing usable: 401.
AccessDecision Unauthenticated(RouteClass route_class, const Credential& c, std::string_view service) {
  if (c.kind == Credential::Kind::kInvalid) {
    const std::string state = c.refusal == "used_up" ? "used up" : c.refusal;
    return Refuse(401, c.refusal, "the bearer token is " + state + ": " + Needed(route_class, service));
  }
  return Refuse(401, "missing", "missing credential: " + Needed(route_class, service));
}

// A service's credential acting on `service`.
AccessDecision ForService(RouteClass route_class, const Credential& c, std::string_view service) {
  if (service.empty() || c.service == service) return {};
  return Refuse(403, "other_service",
                Describe(c) + " cannot act for service " + std::string(service) + ": " + Needed(route_class, service));
}

}  // namespace

RouteClass ClassifyRoute(const HttpRoute& r) {
  if (Is(r, "POST", "/v1/certs")) return RouteClass::kCertificates;
  for (std::string_view pattern : {"/v1/register", "/register", "/v1/instances/{id}/heartbeat"}) {
    if (Is(r, "POST", pattern)) return RouteClass::kRegistry;
  }
  if (Is(r, "DELETE", "/v1/instances/{id}")) return RouteClass::kRegistry;
  for (std::string_view pattern : {"/v1/traces", "/v1/logs", "/api/v2/spans", "/v1/metrics", "/metrics"}) {
    if (Is(r, "POST", pattern)) return RouteClass::kTelemetry;
  }
  if (r.method != "GET") return RouteClass::kAdmin;
  // The CA certificate is what everyone must be able to trust; the dashboard page is fixed HTML
  // without data (its script asks for the token the API calls need).
  for (std::string_view pattern : {"/healthz", "/", "/dashboard", "/dashboard/traces/{id}",
                                    "/dashboard/services/{name}", "/dashboard/map", "/v1/ca"}) {
    if (r.pattern == pattern) return RouteClass::kPublic;
  }
  if (r.pattern == "/v1/services/{name}" || r.pattern == "/v1/policy") return RouteClass::kSidecarRead;
  return RouteClass::kRead;
}

std::string_view RouteClassName(RouteClass route_class) {
  switch (route_class) {
    case RouteClass::kPublic: return "public";
    case RouteClass::kRead:
    case RouteClass::kSidecarRead: return "read";
    case RouteClass::kTelemetry: return "telemetry";
    case RouteClass::kRegistry: return "registry";
    case RouteClass::kCertificates: return "certs";
    case RouteClass::kAdmin: return "admin";
  }
  return "admin";
}

AccessDecision DecideAccess(RouteClass route_class, const Credential& c, std::string_view service,
                            const AccessSettings& settings) {
  using Kind = Credential::Kind;
  const bool none = c.kind == Kind::kNone || c.kind == Kind::kInvalid;
  const auto wrong = [&] {
    return Refuse(403, "wrong_credential",
                  Describe(c) + " does not grant this: " + Needed(route_class, service));
  };
  switch (route_class) {
    case RouteClass::kPublic: return {};
    case RouteClass::kRead:
    case RouteClass::kSidecarRead:
      if (!settings.read_token || c.kind == Kind::kReadToken || c.kind == Kind::kWriteToken) return {};
      if (route_class == RouteClass::kSidecarRead && c.NamesService()) return {};
      return none ? Unauthenticated(route_class, c, service) : wrong();
    case RouteClass::kTelemetry:
      if (!settings.write_token || c.kind == Kind::kWriteToken || c.NamesService()) return {};
      return none ? Unauthenticated(route_class, c, service) : wrong();
    case RouteClass::kAdmin:
      if (!settings.write_token || c.kind == Kind::kWriteToken) return {};
      return none ? Unauthenticated(route_class, c, service) : wrong();
    case RouteClass::kRegistry:
      // No write token at all: a loopback development meshd, open to anyone (it warns at start).
      if (!settings.write_token) return {};
      [[fallthrough]];
    case RouteClass::kCertificates:
      if (c.NamesService()) return ForService(route_class, c, service);
      return none ? Unauthenticated(route_class, c, service) : wrong();
  }
  return wrong();
}

}  // namespace mesh
