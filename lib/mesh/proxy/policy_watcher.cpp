#include "mesh/proxy/policy_watcher.h"

#include <json/value.h>

#include "mesh/base/json_text.h"
#include "mesh/http/asio_http_client.h"
#include "mesh/security/x509.h"

namespace mesh {

PolicyWatcher::PolicyWatcher(Options options, std::unique_ptr<HttpClient> client)
    : options_(std::move(options)), client_(client ? std::move(client) : std::make_unique<AsioHttpClient>(2000)) {}

PolicyWatcher::~PolicyWatcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string PolicyWatcher::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

Status PolicyWatcher::Apply(const std::string& body, bool cache) {
  Result<Json::Value> doc = ParseJson(body);
  if (!doc.ok() || !doc->isObject() || !(*doc)["version"].isString()) {
    return Status::IOError("meshd's policy answer is not what was expected");
  }
  const std::string version = (*doc)["version"].asString();
  {
    std::lock_guard lock(mu_);
    if (version == version_) return Status::Ok();
  }
  std::shared_ptr<const AuthorizationPolicy> next;
  const Json::Value& policy = (*doc)["policy"];
  if (!policy.isNull()) {
    std::string text;
    AppendJsonValue(text, policy);
    Result<AuthorizationPolicy> parsed = AuthorizationPolicy::Parse(text);
    if (!parsed.ok()) return parsed.status();
    next = std::make_shared<const AuthorizationPolicy>(std::move(parsed).value());
  }
  policy_.store(std::move(next));
  {
    std::lock_guard lock(mu_);
    version_ = version;
  }
  if (cache && !options_.data_dir.empty()) return WritePrivateFile(options_.data_dir + "/policy.json", body);
  return Status::Ok();
}

Status PolicyWatcher::Refresh() {
  std::lock_guard fetching(fetch_mu_);
  std::string base = options_.meshd_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::vector<std::pair<std::string, std::string>> headers;
  if (!options_.token.empty()) headers.emplace_back("Authorization", "Bearer " + options_.token);
  Result<HttpClientResponse> r = client_->Send("GET", base + "/v1/policy", "", headers);
  if (!r.ok()) return r.status();
  if (r->status != 200) return Status::IOError("meshd answered " + std::to_string(r->status) + " for the policy");
  return Apply(r->body, true);
}

void PolicyWatcher::Start() {
  if (!Refresh().ok() && !options_.data_dir.empty()) {
    if (Result<std::string> cached = ReadWholeFile(options_.data_dir + "/policy.json"); cached.ok()) {
      Apply(*cached, false);
    }
  }
  thread_ = std::thread([this] { Run(); });
}

void PolicyWatcher::Run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (wake_.wait_for(lock, options_.refresh_every, [this] { return stop_; })) return;
    }
    Refresh();  // a failure keeps the current policy
  }
}

}  // namespace mesh
