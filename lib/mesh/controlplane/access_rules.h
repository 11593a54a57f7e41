// Who may do what on meshd: the credential a request presents, the class of the route it asks
// for, and, for registry writes and certificates, the service it acts on, decide between
// allowed, 401 (no usable credential) and 403 (a credential that does not grant this). Pure:
// how a credential is recognised (tokens, the store, TLS) is credential_resolver.h's.
//
// The rule that matters: a credential names at most one identity. A scoped token or a client
// certificate for X registers, heartbeats and removes X's instances and gets X's certificates,
// nothing of another service; the write and read tokens name no service, so they get no
// certificate and (when meshd has a write token) no registry write.
#pragma once

#include <string>
#include <string_view>

#include "mesh/http/http_router.h"

namespace mesh {

enum class RouteClass {
  kPublic,        // liveness, the dashboard page, the CA certificate
  kRead,          // every other GET
  kSidecarRead,   // what a sidecar reads: a service's instances, the policy
  kTelemetry,     // spans, logs, metrics pushed
  kRegistry,      // register, heartbeat, deregister: acts on one service
  kCertificates,  // POST /v1/certs: acts on one service
  kAdmin,         // any other write: alert checks, silences
};

// The route's class; a route added later without a rule here is a read (GET) or an admin
// write (anything else), never open by mistake.
RouteClass ClassifyRoute(const HttpRoute& route);
// "read", "telemetry", "registry", "certs", "admin" (the refusal counter's route_class label).
std::string_view RouteClassName(RouteClass route_class);

struct Credential {
  enum class Kind {
    kNone,                // nothing presented
    kInvalid,             // a bearer token meshd does not accept (see `refusal`)
    kWriteToken,
    kReadToken,
    kServiceToken,        // a scoped token (`meshd token create`) for `service`
    kServiceCertificate,  // a verified client certificate for `service`
  };
  Kind kind = Kind::kNone;
  std::string service;
  std::string token_id;  // kServiceToken: the token's id
  // kInvalid: "unknown", "expired", "revoked" or "used_up".
  std::string refusal;

  static Credential Of(Kind kind) {
    Credential c;
    c.kind = kind;
    return c;
  }
  static Credential Invalid(std::string refusal) {
    Credential c = Of(Kind::kInvalid);
    c.refusal = std::move(refusal);
    return c;
  }
  bool NamesService() const { return kind == Kind::kServiceToken || kind == Kind::kServiceCertificate; }
};

// What meshd was started with.
struct AccessSettings {
  bool write_token = false;  // --token-file: without it writes (not certificates) are open
  bool read_token = false;   // --read-token-file: without it reads are open
};

struct AccessDecision {
  int status = 0;      // 0: allowed; else 401 or 403
  std::string reason;  // refusals: "missing", "unknown", "expired", "revoked", "used_up",
                       // "other_service", "wrong_credential"
  std::string message;  // for the JSON error: which credential is needed

  bool allowed() const { return status == 0; }
};

// `service`: the service a kRegistry or kCertificates request acts on; "" when not known yet
// (the decision is then the one that holds for any service: a credential naming a service is
// allowed, to be decided again once the service is known).
AccessDecision DecideAccess(RouteClass route_class, const Credential& credential, std::string_view service,
                            const AccessSettings& settings);

}  // namespace mesh
