// AccessControl: meshd's authentication and authorization of one request, from the credential
// it presents (credential_resolver.h) and the rules (access_rules.h), with every refusal
// counted in mesh_auth_refusals_total{route_class, reason} and answered as JSON saying which
// credential is needed. The router's guard uses it for every route; the registry and
// certificate handlers again once they know the service the request acts on. Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "mesh/controlplane/access_rules.h"
#include "mesh/controlplane/credential_resolver.h"
#include "mesh/http/http_message.h"
#include "mesh/telemetry/metrics.h"

namespace mesh {

class AccessControl {
 public:
  // Records a use of scoped token `id` (spending one of its uses when `spend`). Errors:
  // InvalidArgument when it has none left or was revoked meanwhile; the store's.
  using RecordUse = std::function<Status(const std::string& id, bool spend)>;

  // `refusals` (labels route_class, reason) may be null: nothing is counted.
  AccessControl(CredentialResolver::Options options, CredentialResolver::FindToken find, RecordUse record_use,
                const Clock& clock, Family<Counter>* refusals);

  struct Outcome {
    Credential credential;
    AccessDecision decision;
    // When refused: the answer to send (401 with WWW-Authenticate, 403, or 503 when the store
    // could not be read).
    HttpResponse refusal;
    bool allowed() const { return decision.allowed(); }
  };
  // The request's credential and whether it may do `route_class` on `service` ("" when not
  // known yet: see DecideAccess).
  Outcome Check(const HttpRequest& request, RouteClass route_class, std::string_view service);
  // The same decision for a credential already resolved, on the service now known.
  Outcome Recheck(const Credential& credential, RouteClass route_class, std::string_view service);
  // A use of the credential when it is a scoped token (else nothing). Errors: as RecordUse.
  Status RecordTokenUse(const Credential& credential, bool spend);

  AccessSettings settings() const { return resolver_.settings(); }

 private:
  Outcome Decide(Credential credential, RouteClass route_class, std::string_view service);

  CredentialResolver resolver_;
  const RecordUse record_use_;
  Family<Counter>* const refusals_;
};

}  // namespace mesh
