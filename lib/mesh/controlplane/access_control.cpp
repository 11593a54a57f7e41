#include "mesh/controlplane/access_control.h"

namespace mesh {

AccessControl::AccessControl(CredentialResolver::Options options, CredentialResolver::FindToken find,
                             RecordUse record_use, const Clock& clock, Family<Counter>* refusals)
    : resolver_(std::move(options), std::move(find), clock), record_use_(std::move(record_use)), refusals_(refusals) {}

AccessControl::Outcome AccessControl::Check(const HttpRequest& r, RouteClass route_class, std::string_view service) {
  if (route_class == RouteClass::kPublic) return {};
  Result<Credential> credential = resolver_.Resolve(r);
  if (!credential.ok()) {
    Outcome failed;
    failed.decision = {503, "store", "cannot check the bearer token: " + credential.status().message()};
    failed.refusal = HttpResponse::Error(503, failed.decision.message);
    return failed;
  }
  return Decide(std::move(*credential), route_class, service);
}

AccessControl::Outcome AccessControl::Recheck(const Credential& credential, RouteClass route_class,
                                              std::string_view service) {
  return Decide(credential, route_class, service);
}

AccessControl::Outcome AccessControl::Decide(Credential credential, RouteClass route_class, std::string_view service) {
  Outcome out;
  out.decision = DecideAccess(route_class, credential, service, resolver_.settings());
  out.credential = std::move(credential);
  if (out.allowed()) return out;
  if (refusals_ != nullptr) {
    // Both labels come from fixed sets: the series stay few.
    if (auto c = refusals_->WithLabels({std::string(RouteClassName(route_class)), out.decision.reason}); c.ok()) {
      (*c)->Inc();
    }
  }
  out.refusal = HttpResponse::Error(out.decision.status, out.decision.message);
  if (out.decision.status == 401) out.refusal.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"meshd\"");
  return out;
}

Status AccessControl::RecordTokenUse(const Credential& credential, bool spend) {
  if (credential.kind != Credential::Kind::kServiceToken) return Status::Ok();
  Status s = record_use_(credential.token_id, spend);
  if (spend) resolver_.Forget(credential.token_id);
  return s;
}

}  // namespace mesh
