#include "mesh/controlplane/security_api.h"

#include <json/value.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/security/certificate_ttl.h"
#include "mesh/security/x509.h"

namespace mesh {
namespace {

// A certificate starts a minute early: the clocks of meshd and its proxies may disagree a little.
constexpr int64_t kBackdateNs = 60LL * 1'000'000'000;
// The bounds of certificate_ttl.h, which meshd's and meshproxy's --cert-ttl share.
constexpr int64_t kMinTtlNs = kMinCertTtlNs;
constexpr int64_t kMaxTtlNs = kMaxCertTtlNs;
// The policy file is looked at (stat) at most this often, however often proxies ask.
constexpr int64_t kPolicyCheckEveryNs = 1'000'000'000;

std::string Fnv1aHex(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return out;
}

}  // namespace

Result<std::unique_ptr<SecurityApi>> SecurityApi::Create(CertificateAuthority ca, Options options, const Clock& clock,
                                                         AccessControl& access) {
  std::unique_ptr<SecurityApi> api(new SecurityApi(std::move(ca), std::move(options), clock, access));
  if (!api->options_.policy_path.empty()) {
    if (Status s = api->LoadPolicy(); !s.ok()) return s;
  }
  return api;
}

void SecurityApi::AddRoutes(HttpRouter& router) {
  router.Add("GET", "/v1/ca", [this](const HttpRequest& r) { return Ca(r); });
  router.Add("POST", "/v1/certs", [this](const HttpRequest& r) { return IssueCertificate(r); });
  router.Add("GET", "/v1/policy", [this](const HttpRequest& r) { return Policy(r); });
}

HttpResponse SecurityApi::Ca(const HttpRequest&) const {
  std::string body = "{\"trust_domain\":";
  AppendJsonString(body, ca_.trust_domain());
  body += ",\"ca_pem\":";
  AppendJsonString(body, ca_.certificate_pem());
  body += '}';
  return HttpResponse::Json(200, std::move(body));
}

HttpResponse SecurityApi::IssueCertificate(const HttpRequest& r) {
  // Who asks is known before the body is read: an unauthenticated request costs no parsing.
  const AccessControl::Outcome asker = access_.Check(r, RouteClass::kCertificates, "");
  if (!asker.allowed()) return asker.refusal;
  Result<Json::Value> doc = ParseJson(r.body);
  if (!doc.ok()) return HttpResponse::Error(400, "certificate request: " + doc.status().message());
  if (!doc->isObject()) return HttpResponse::Error(400, "certificate request: expected a JSON object");
  for (const std::string& key : doc->getMemberNames()) {
    if (key != "service" && key != "csr_pem" && key != "ttl") {
      return HttpResponse::Error(400, "certificate request: unknown field \"" + key + "\"");
    }
  }
  const Json::Value& service = (*doc)["service"];
  const Json::Value& csr = (*doc)["csr_pem"];
  if (!service.isString() || !csr.isString()) {
    return HttpResponse::Error(400, "certificate request: \"service\" and \"csr_pem\" must be strings");
  }
  int64_t ttl_ns = options_.default_ttl_ns;
  if (doc->isMember("ttl")) {
    const Json::Value& ttl = (*doc)["ttl"];
    Result<int64_t> parsed = ttl.isString() ? ParseDuration(ttl.asString())
                                            : Result<int64_t>(Status::InvalidArgument("must be a string like \"24h\""));
    if (!parsed.ok()) return HttpResponse::Error(400, "certificate request: ttl: " + parsed.status().message());
    if (*parsed < kMinTtlNs || *parsed > kMaxTtlNs) {
      return HttpResponse::Error(400, "certificate request: ttl must be between 10s and 30d");
    }
    ttl_ns = *parsed;
  }
  if (Status valid = ValidateServiceName(service.asString()); !valid.ok()) {
    return HttpResponse::Error(400, "certificate request: " + valid.message());
  }
  const AccessControl::Outcome allowed = access_.Recheck(asker.credential, RouteClass::kCertificates, service.asString());
  if (!allowed.allowed()) return allowed.refusal;
  const int64_t now = clock_.NowNs();
  Result<std::string> cert = ca_.Issue({csr.asString(), service.asString(), now - kBackdateNs, now + ttl_ns});
  if (!cert.ok()) {
    const int status = cert.status().code() == Status::Code::kInvalidArgument ? 400 : 500;
    return HttpResponse::Error(status, "certificate request: " + cert.status().message());
  }
  // The use is spent once the certificate exists (a bad CSR spends none); when another request
  // spent the last use meanwhile, this certificate is never sent.
  if (Status spent = access_.RecordTokenUse(asker.credential, true); !spent.ok()) {
    if (spent.code() != Status::Code::kInvalidArgument) return HttpResponse::Error(503, spent.message());
    return access_.Recheck(Credential::Invalid("used_up"),
                           RouteClass::kCertificates, service.asString())
        .refusal;
  }
  std::string body = "{\"certificate_pem\":";
  AppendJsonString(body, *cert);
  body += ",\"ca_pem\":";
  AppendJsonString(body, ca_.certificate_pem());
  body += ",\"spiffe_id\":";
  AppendJsonString(body, FormatSpiffeId({ca_.trust_domain(), service.asString()}));
  body += ",\"not_before\":";
  AppendJsonString(body, FormatRfc3339(now - kBackdateNs));
  body += ",\"not_after\":";
  AppendJsonString(body, FormatRfc3339(now + ttl_ns));
  body += '}';
  return HttpResponse::Json(200, std::move(body));
}

Status SecurityApi::LoadPolicy() {
  struct stat st;
  if (::stat(options_.policy_path.c_str(), &st) != 0) {
    const int error = errno;
    reload_error_ = "cannot read policy " + options_.policy_path + ": " + std::strerror(error);
    if (error == ENOENT) reload_error_ += " (copy " MESH_SHARE_DIR "/policy.example.json there and edit it)";
    return Status::IOError(reload_error_);
  }
  const int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (mtime_ns == policy_mtime_ns_) return Status::Ok();
  policy_mtime_ns_ = mtime_ns;
  Result<std::string> text = ReadWholeFile(options_.policy_path);
  Result<AuthorizationPolicy> policy =
      text.ok() ? AuthorizationPolicy::Parse(*text) : Result<AuthorizationPolicy>(text.status());
  if (!policy.ok()) {
    reload_error_ = policy.status().WithContext(options_.policy_path).message();
    return Status::InvalidArgument(reload_error_);
  }
  policy_text_.clear();
  AppendJsonValue(policy_text_, *ParseJson(*text));
  policy_version_ = Fnv1aHex(policy_text_);
  reload_error_.clear();
  return Status::Ok();
}

Result<std::string> SecurityApi::ReloadPolicy() {
  if (options_.policy_path.empty()) return Status::NotFound("no policy file (--policy)");
  std::lock_guard lock(policy_mu_);
  policy_mtime_ns_ = -1;  // an edit within the file system's timestamp granularity is read too
  policy_checked_ns_ = clock_.NowNs();
  if (Status s = LoadPolicy(); !s.ok()) return s;
  return policy_version_;
}

HttpResponse SecurityApi::Policy(const HttpRequest&) {
  std::lock_guard lock(policy_mu_);
  if (!options_.policy_path.empty()) {
    const int64_t now = clock_.NowNs();
    if (now - policy_checked_ns_ >= kPolicyCheckEveryNs) {
      policy_checked_ns_ = now;
      LoadPolicy();  // a failure keeps the last good policy and sets reload_error_
    }
  }
  std::string body = "{\"policy\":";
  body += policy_text_.empty() ? "null" : policy_text_;
  body += ",\"version\":";
  AppendJsonString(body, policy_version_.empty() ? "none" : policy_version_);
  if (!reload_error_.empty()) {
    body += ",\"reload_error\":";
    AppendJsonString(body, reload_error_);
  }
  body += '}';
  return HttpResponse::Json(200, std::move(body));
}

}  // namespace mesh
